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

/// <summary>
/// llama-bench's procedure: a warm-up run, then repetitions of pp (prefill) and tg (decode) on random tokens. Several
/// engines take turns, repetition by repetition, so that a slow drift of the machine (another process, the clock)
/// falls on all of them alike instead of on whichever ran last.
/// </summary>
public static class EngineBenchmark
{
    /// <summary>How long each engine runs before it is measured.</summary>
    public static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the machine is left idle before each engine's turn: the worker threads of the engine before it
    /// (llama.cpp's and ours) spin for a while after their last task and would otherwise compete with it.
    /// </summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(20);

    public static EngineResult Run(IBenchmarkEngine engine, int promptTokens, int generatedTokens, int repetitions, int seed = 1) =>
        Run([engine], promptTokens, generatedTokens, repetitions, seed)[0];

    /// <summary>Each of <paramref name="engines"/>, warmed up in turn, then measured in turns; results in the same order.</summary>
    public static IReadOnlyList<EngineResult> Run(IReadOnlyList<IBenchmarkEngine> engines, int promptTokens, int generatedTokens, int repetitions, int seed = 1)
    {
        var random = new Random(seed);

        // Random token ids: the prompt's, and at least enough for the warm-up and the decode test's first token.
        int vocabulary = engines.Min(engine => engine.VocabularySize);
        var tokens = new int[Math.Max(promptTokens, 16)];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = random.Next(vocabulary);
        }

        foreach (var engine in engines)
        {
            WarmUp(engine, tokens, generatedTokens);
        }

        var prefill = engines.Select(_ => new List<double>()).ToArray();
        var decode = engines.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < repetitions; r++)
        {
            for (int e = 0; e < engines.Count; e++)
            {
                if (engines.Count > 1)
                {
                    Thread.Sleep(SettleTime);
                }

                Measure(engines[e], tokens, promptTokens, generatedTokens, prefill[e], decode[e]);
            }
        }

        return engines.Select((engine, e) => new EngineResult(engine.Name, RateOf(prefill[e]), RateOf(decode[e]))).ToArray();
    }

    /// <summary>
    /// Page faults of the mapped weights, caches, and the JIT's tiers. Tiered compilation promotes a method only after
    /// it has been called 30 times and 100 ms passed without new code, so a fast engine would otherwise be measured
    /// partly unoptimised: warm up for a time, not a count.
    /// </summary>
    private static void WarmUp(IBenchmarkEngine engine, int[] tokens, int generatedTokens)
    {
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
    }

    /// <summary>One repetition of each test that has tokens.</summary>
    private static void Measure(IBenchmarkEngine engine, int[] tokens, int promptTokens, int generatedTokens, List<double> prefill, List<double> decode)
    {
        if (promptTokens > 0)
        {
            long start = Stopwatch.GetTimestamp();
            engine.Prefill(tokens.AsSpan(0, promptTokens));
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

    private static Rate RateOf(List<double> samples) => samples.Count > 0 ? Rate.Of(samples) : new Rate(0, 0);
}
