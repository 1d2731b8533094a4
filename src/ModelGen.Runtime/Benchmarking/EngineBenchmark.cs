using System.Diagnostics;

namespace ModelGen.Runtime.Benchmarking;

/// <summary>An engine under measurement: prefill a prompt from position 0, then decode one token at a time.</summary>
public interface IBenchmarkEngine : IDisposable
{
    string Name { get; }

    int VocabularySize { get; }

    /// <summary>Runs <paramref name="tokens"/> from position 0 (a fresh sequence).</summary>
    void Prefill(ReadOnlySpan<int> tokens);

    /// <summary>Runs one token at <paramref name="position"/>.</summary>
    void Decode(int token, int position);
}

/// <summary>Tokens per second of one phase over repetitions: mean and standard deviation, as llama-bench reports them.</summary>
public sealed record Rate(double Mean, double StandardDeviation)
{
    public static Rate Of(IReadOnlyList<double> samples)
    {
        double mean = samples.Average();
        double variance = samples.Count > 1 ? samples.Sum(s => (s - mean) * (s - mean)) / (samples.Count - 1) : 0;
        return new Rate(mean, Math.Sqrt(variance));
    }

    public override string ToString() => $"{Mean:0.00} ± {StandardDeviation:0.00}";
}

/// <summary>Prefill and decode rates of one engine.</summary>
public sealed record EngineResult(string Engine, Rate Prefill, Rate Decode);

/// <summary>llama-bench's procedure: a warm-up run, then repetitions of pp (prefill) and tg (decode) on random tokens.</summary>
public static class EngineBenchmark
{
    /// <summary>How long each engine runs before it is measured.</summary>
    public static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(1);

    public static EngineResult Run(IBenchmarkEngine engine, int promptTokens, int generatedTokens, int repetitions, int seed = 1)
    {
        var random = new Random(seed);

        // Random token ids: the prompt's, and at least enough for the warm-up and the decode test's first token.
        var tokens = new int[Math.Max(promptTokens, 16)];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = random.Next(engine.VocabularySize);
        }

        var prompt = tokens.AsSpan(0, promptTokens);

        // Warm-up: page faults of the mapped weights, caches, and the JIT's tiers. Tiered compilation promotes a
        // method only after it has been called 30 times and 100 ms passed without new code, so a fast engine
        // would otherwise be measured partly unoptimised: warm up for a time, not a count.
        long warmUpStart = Stopwatch.GetTimestamp();
        do
        {
            engine.Prefill(tokens.AsSpan(0, 16));
            for (int i = 0; i < Math.Min(generatedTokens, 8); i++)
            {
                engine.Decode(tokens[i], 16 + i);
            }
        }
        while (Stopwatch.GetElapsedTime(warmUpStart) < WarmUpTime);

        var prefill = new List<double>();
        var decode = new List<double>();
        for (int r = 0; r < repetitions; r++)
        {
            if (promptTokens > 0)
            {
                long start = Stopwatch.GetTimestamp();
                engine.Prefill(prompt);
                prefill.Add(promptTokens / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            if (generatedTokens > 0)
            {
                // As llama-bench's tg: decode from an empty context (after one token), not after the prompt.
                engine.Prefill(tokens.AsSpan(0, 1));
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < generatedTokens; i++)
                {
                    engine.Decode(tokens[(i + 1) % tokens.Length], 1 + i);
                }

                decode.Add(generatedTokens / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }

        return new EngineResult(engine.Name, prefill.Count > 0 ? Rate.Of(prefill) : new Rate(0, 0), decode.Count > 0 ? Rate.Of(decode) : new Rate(0, 0));
    }
}
