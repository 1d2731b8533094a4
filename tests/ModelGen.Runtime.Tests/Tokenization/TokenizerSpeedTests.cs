using System.Diagnostics;
using System.Reflection;
using System.Text;
using ModelGen.Runtime.Tokenization;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>Timing tests run alone, after the others, so that they measure the tokenizer rather than the other tests.</summary>
[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;

/// <summary>Tokenizing speed, ours beside llama.cpp's, and growth on pathological inputs.</summary>
[Collection(nameof(TimingCollection))]
public sealed class TokenizerSpeedTests(ITestOutputHelper output)
{
    // The bound is for optimized code; a Debug build of the tokenizer runs with the JIT optimizer off, several times slower.
    private static readonly double MaxMicrosecondsPerKilobyte =
        typeof(Tokenizer).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true ? 5000 : 1000;

    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Text_tokenizes_in_well_under_a_millisecond_per_kilobyte(string name)
    {
        var (_, tokenizer, llama) = Vocabularies.Get(name);
        var fuzz = new FuzzText(4000, DifferentialTokenizerTests.SpecialTexts(tokenizer));
        var text = new List<byte>();
        while (text.Count < 16 * 1024)
        {
            text.AddRange(fuzz.Next());
        }

        var bytes = text.ToArray();
        var tokens = new List<int>();
        double ours = BestMicroseconds(() => { tokens.Clear(); tokenizer.Tokenize(bytes, addSpecial: true, parseSpecial: true, tokens); });
        double theirs = BestMicroseconds(() => llama.Tokenize(bytes, addSpecial: true, parseSpecial: true));
        double kilobytes = bytes.Length / 1024.0;
        output.WriteLine($"{name}: {bytes.Length} bytes -> {tokens.Count} tokens; ours {ours / kilobytes:F0} us/KB, llama.cpp {theirs / kilobytes:F0} us/KB");
        Assert.True(ours / kilobytes < MaxMicrosecondsPerKilobyte, $"{ours / kilobytes:F0} us per KB");
    }

    /// <summary>
    /// Long runs of one character class become one huge word (or, for SentencePiece, one huge symbol chain): eight
    /// times the input must cost far less than the 64 times a quadratic merge loop would.
    /// </summary>
    [Theory]
    [InlineData("llama-spm")]
    [InlineData("llama-bpe")]
    public void Long_runs_cost_near_linear_time(string name)
    {
        var tokenizer = Vocabularies.Get(name).Tokenizer;
        var tokens = new List<int>();
        foreach (var unit in new[] { " ", "a", "7", " \n\t", "中" })
        {
            byte[] Run(int kilobytes) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(unit, kilobytes * 1024 / Encoding.UTF8.GetByteCount(unit))));
            var (small, large) = (Run(4), Run(32));

            // Interleaved, so that a busy machine slows both sizes alike.
            var (tSmall, tLarge) = (double.MaxValue, double.MaxValue);
            for (int i = 0; i < 8; i++)
            {
                tSmall = Math.Min(tSmall, Microseconds(() => { tokens.Clear(); tokenizer.Tokenize(small, false, false, tokens); }));
                tLarge = Math.Min(tLarge, Microseconds(() => { tokens.Clear(); tokenizer.Tokenize(large, false, false, tokens); }));
            }

            string run = unit.ReplaceLineEndings("\\n").Replace("\t", "\\t");
            output.WriteLine($"{name} run of '{run}': 4 KB {tSmall / 4:F0} us/KB, 32 KB {tLarge / 32:F0} us/KB");
            Assert.True(tLarge < 24 * tSmall, $"a 32 KB run of '{run}' took {tLarge / tSmall:F1} times as long as 4 KB");
        }
    }

    private static double Microseconds(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    private static double BestMicroseconds(Action action)
    {
        action(); // warm up
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            best = Math.Min(best, Microseconds(action));
        }

        return best;
    }
}
