using ModelGen.Runtime.Benchmarking;

namespace ModelGen.Runtime.Tests.Benchmarking;

public sealed class EngineBenchmarkTests
{
    [Fact]
    public void Engines_are_measured_in_turns_with_every_test_of_a_repetition()
    {
        var log = new List<string>();
        var engines = new[] { new RecordingEngine("a", log), new RecordingEngine("b", log) };

        var results = EngineBenchmark.Run(engines, promptTokens: 5, generatedTokens: 3, repetitions: 2);

        Assert.Equal(["a", "b"], results.Select(result => result.Engine));
        Assert.All(results, result => Assert.True(result.Prefill.Mean > 0 && result.Decode.Mean > 0));

        // After each engine's warm-up: per repetition, each engine's 5-token prefill, its 1-token restart and 3 decodes.
        var measured = log.Skip(log.FindLastIndex(entry => entry == "b prefill 16") + 1).SkipWhile(entry => entry.StartsWith("b ", StringComparison.Ordinal)).ToList();
        string[] turn(string engine) => [$"{engine} prefill 5", $"{engine} prefill 1", $"{engine} decode 1", $"{engine} decode 2", $"{engine} decode 3"];
        Assert.Equal([.. turn("a"), .. turn("b"), .. turn("a"), .. turn("b")], measured);
    }

    [Fact]
    public void One_engine_gets_no_settling_pause_and_its_own_result()
    {
        var log = new List<string>();
        var result = EngineBenchmark.Run(new RecordingEngine("solo", log), promptTokens: 0, generatedTokens: 2, repetitions: 3);

        Assert.Equal("solo", result.Engine);
        Assert.Equal(new Rate(0, 0), result.Prefill);
        Assert.True(result.Decode.Mean > 0);
        Assert.Equal(3, log.Count(entry => entry == "solo decode 2"));
    }

    /// <summary>An engine that only logs what it is asked to do.</summary>
    private sealed class RecordingEngine(string name, List<string> log) : IBenchmarkEngine
    {
        public string Name => name;

        public int VocabularySize => 100;

        public void Prefill(ReadOnlySpan<int> tokens) => log.Add($"{name} prefill {tokens.Length}");

        public void Decode(int token, int position) => log.Add($"{name} decode {position}");

        public void Dispose()
        {
        }
    }
}
