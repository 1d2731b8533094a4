using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Tests.Engine;

/// <summary>
/// Several sequences in one forward pass (continuous batching): each row's logits must be those its sequence gets
/// alone, whatever else shares the batch.
/// </summary>
public sealed class SequenceBatchTests(SynthesizedModels models) : IClassFixture<SynthesizedModels>
{
    private static readonly int[][] Prompts =
    [
        [1, 17, 230, 5, 99, 41, 8],
        [1, 300, 12],
        [1, 45, 45, 45, 7, 210, 3, 64, 150],
    ];

    private const int DecodeSteps = 5;

    [Theory]
    [InlineData("llama", GgmlType.Q8_0)]
    [InlineData("qwen3", GgmlType.Q4_K)]
    public void Mixed_sequences_get_the_logits_each_gets_alone(string architecture, GgmlType type)
    {
        var path = models.Get(architecture, type);
        var (prefillAlone, decodeAlone, decodeTokens) = RunAlone(path);

        using var model = GenericModel.Load(path, new ModelOptions { ContextLength = 32, Threads = 2, Sequences = Prompts.Length });
        Assert.Equal(Prompts.Length, model.SequenceCount);
        int v = model.VocabularySize;

        // Prefill every prompt in one batch, rows interleaved across sequences (each sequence's in position order).
        var rows = Prompts.SelectMany((p, s) => p.Select((token, i) => (token, i, s))).OrderBy(r => r.i).ThenBy(r => r.s).ToArray();
        var logits = model.Forward(rows.Select(r => r.token).ToArray(), rows.Select(r => r.i).ToArray(), rows.Select(r => r.s).ToArray(),
            rows.Select(_ => true).ToArray()).ToArray();
        for (int row = 0; row < rows.Length; row++)
        {
            var (_, i, s) = rows[row];
            AssertEqual(prefillAlone[s].AsSpan(i * v, v), logits.AsSpan(row * v, v), $"prefill: sequence {s}, position {i}");
        }

        // Decode all three in lock step, one row each, with only the rows' own logits asked for.
        for (int step = 0; step < DecodeSteps; step++)
        {
            var tokens = Prompts.Select((p, s) => decodeTokens[s][step]).ToArray();
            var positions = Prompts.Select(p => p.Length + step).ToArray();
            logits = model.Forward(tokens, positions, [0, 1, 2], [true, true, true]).ToArray();
            for (int s = 0; s < Prompts.Length; s++)
            {
                AssertEqual(decodeAlone[s][step], logits.AsSpan(s * v, v), $"decode step {step}: sequence {s}");
            }
        }
    }

    [Fact]
    public void Only_the_rows_asked_for_return_logits_and_a_batch_may_ask_for_none()
    {
        var path = models.Get("llama", GgmlType.Q8_0);
        var (prefillAlone, _, _) = RunAlone(path);
        using var model = GenericModel.Load(path, new ModelOptions { ContextLength = 32, Threads = 2, Sequences = 2 });
        int v = model.VocabularySize;

        // Sequence 1 takes prompt 0 without logits; then sequence 0 takes prompt 2 with the last two rows asked for.
        Assert.Equal(0, model.Forward(Prompts[0], Enumerable.Range(0, Prompts[0].Length).ToArray(), new int[Prompts[0].Length], new bool[Prompts[0].Length]).Length);
        int n = Prompts[2].Length;
        var outputs = Enumerable.Range(0, n).Select(i => i >= n - 2).ToArray();
        var logits = model.Forward(Prompts[2], Enumerable.Range(0, n).ToArray(), Enumerable.Repeat(1, n).ToArray(), outputs).ToArray();
        Assert.Equal(2 * v, logits.Length);
        AssertEqual(prefillAlone[2].AsSpan((n - 2) * v, v), logits.AsSpan(0, v), "second-to-last row");
        AssertEqual(prefillAlone[2].AsSpan((n - 1) * v, v), logits.AsSpan(v, v), "last row");
    }

    [Fact]
    public void Rows_outside_the_context_or_the_sequences_are_refused()
    {
        using var model = GenericModel.Load(models.Get("llama", GgmlType.Q8_0), new ModelOptions { ContextLength = 16, Threads = 1, Sequences = 2 });
        var position = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([1, 2], [3, 16], [0, 1], [true, true]));
        Assert.Contains("row 1: the position is outside the context of 16", position.Message);
        var sequence = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([1], [0], [2], [true]));
        Assert.Contains("the cache holds sequences 0 to 1", sequence.Message);
        Assert.Throws<ArgumentException>(() => model.Forward([1, 2], [0, 1], [0], [true, true]));
        Assert.Throws<ArgumentException>(() => model.Forward([1, 2], [0], [0], [true]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GenericModel.Load(models.Get("llama", GgmlType.Q8_0), new ModelOptions { Sequences = 0 }));
    }

    [Fact]
    public void The_memory_budget_counts_every_sequence_cache()
    {
        var path = models.Get("llama", GgmlType.Q8_0);
        using (var probe = GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 64 }))
        {
            long needed = probe.Config.WorkingSetBytes(64, 64, sequences: 4);
            long cachePerSequence = 2L * probe.Config.LayerCount * 64 * probe.Config.KvLength * sizeof(ushort);
            Assert.Equal(probe.Config.WorkingSetBytes(64, 64) + 3 * cachePerSequence, needed);
            using var fits = GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 64, Sequences = 4, MemoryBudget = needed });
            var refused = Assert.Throws<UnsupportedModelException>(() =>
                GenericModel.Load(path, new ModelOptions { Threads = 1, ContextLength = 64, Sequences = 4, MemoryBudget = needed - 1 }));
            Assert.Contains("4 sequences of 64 tokens needs", refused.Message);
        }
    }

    /// <summary>Each prompt in a model of its own: every prefill position's logits, then greedy decode steps' logits and tokens.</summary>
    private static (float[][] Prefill, float[][][] Decode, int[][] Tokens) RunAlone(string path)
    {
        var prefill = new float[Prompts.Length][];
        var decode = new float[Prompts.Length][][];
        var tokens = new int[Prompts.Length][];
        for (int s = 0; s < Prompts.Length; s++)
        {
            using var alone = GenericModel.Load(path, new ModelOptions { ContextLength = 32, Threads = 2 });
            prefill[s] = alone.Forward(Prompts[s], 0, allLogits: true).ToArray();
            int v = alone.VocabularySize;
            int token = ArgMax(prefill[s].AsSpan(prefill[s].Length - v));
            decode[s] = new float[DecodeSteps][];
            tokens[s] = new int[DecodeSteps];
            for (int step = 0; step < DecodeSteps; step++)
            {
                tokens[s][step] = token;
                decode[s][step] = alone.Forward([token], Prompts[s].Length + step).ToArray();
                token = ArgMax(decode[s][step]);
            }
        }

        return (prefill, decode, tokens);
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static void AssertEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: logit {i} is {actual[i]:R} batched, {expected[i]:R} alone");
            }
        }
    }
}
