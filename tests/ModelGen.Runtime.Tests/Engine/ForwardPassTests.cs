using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Engine;

public sealed class ForwardPassTests(ITestOutputHelper output, SynthesizedModels models) : IClassFixture<SynthesizedModels>
{
    [Theory]
    [InlineData("micro-Q8_0.gguf")]
    [InlineData("micro-F16.gguf")]
    public void Decoding_token_by_token_equals_batched_prefill(string file)
    {
        using var model = GenericModel.Load(Path.Combine(SharedData.Models, file), new ModelOptions { ContextLength = 128, Threads = 2, BatchSize = 16 });
        var tokens = model.Generator.TokenizePrompt("The quick brown fox jumps over the lazy dog, and then it sleeps under a tree.");
        Assert.True(tokens.Length > 16, "the prompt must span several prefill batches");
        var batched = model.EvaluateAll(tokens);

        int v = model.VocabularySize;
        var decoded = new float[batched.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            model.Forward(tokens.AsSpan(i, 1), i).CopyTo(decoded.AsSpan(i * v));
        }

        // Matrix products of one row and of many are bit-identical, and attention is computed the same way.
        LogitsAgreement.AssertClose(output, $"{file}: decode against prefill", decoded, batched, 1e-6);
    }

    [Fact]
    public void Greedy_generation_is_reproducible_and_seeded_sampling_too()
    {
        using var model = GenericModel.Load(models.Get("llama", GgmlType.Q8_0), new ModelOptions { ContextLength = 128, Threads = 2 });
        string Run(Runtime.Sampling.SamplingOptions sampling) =>
            string.Concat(model.Generator.Generate("Once upon a time", new() { MaxTokens = 24, Sampling = sampling }));

        var greedy = Run(Runtime.Sampling.SamplingOptions.Greedy);
        Assert.Equal(greedy, Run(Runtime.Sampling.SamplingOptions.Greedy));
        Assert.Equal(24, model.Generator.Statistics.GeneratedTokens);
        var seeded = Run(new() { Seed = 42, Temperature = 1.0f });
        Assert.Equal(seeded, Run(new() { Seed = 42, Temperature = 1.0f }));
        Assert.NotEqual(seeded, Run(new() { Seed = 43, Temperature = 1.0f }));
    }

    [Fact]
    public void Bad_prompts_and_models_are_refused_with_a_clear_message()
    {
        using var model = GenericModel.Load(Path.Combine(SharedData.Models, "micro-Q8_0.gguf"), new ModelOptions { ContextLength = 32, Threads = 1 });
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => model.Generator.Generate("", new())).Message);
        var tooLong = Assert.Throws<Runtime.Generation.PromptTooLongException>(() => model.Generator.Generate(string.Concat(Enumerable.Repeat("word ", 100)), new()));
        Assert.Equal(32, tooLong.ContextLength);
        Assert.Contains("context holds 32", tooLong.Message);

        // A vocabulary-only file: no tensors at all.
        var noWeights = Assert.Throws<UnsupportedModelException>(() => GenericModel.Load(Path.Combine(SharedData.Vocab, "ggml-vocab-llama-spm.gguf")));
        Assert.Contains("tensor 'blk.0.attn_norm.weight' is missing", noWeights.Message);
    }
}

public sealed class DecodeAllocationTests
{
    [Fact]
    public void Decoding_a_token_allocates_nothing()
    {
        using var model = GenericModel.Load(Path.Combine(SharedData.Models, "micro-Q4_K_M.gguf"), new ModelOptions { ContextLength = 128, Threads = 2 });
        var sampler = new Runtime.Sampling.Sampler(new() { Seed = 1, Temperature = 0.8f }, model.VocabularySize);
        var history = new int[128];
        history[0] = 1;
        int token = 1;

        void Step(int position)
        {
            var logits = model.Forward(history.AsSpan(position, 1), position);
            token = sampler.Sample(logits, history.AsSpan(0, position + 1));
            history[position + 1] = token;
        }

        for (int p = 0; p < 8; p++)
        {
            Step(p);   // warm-up: JIT tiers, pooled scratch
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int p = 8; p < 40; p++)
        {
            Step(p);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"32 decode steps with sampling allocated {allocated} bytes");
    }
}
