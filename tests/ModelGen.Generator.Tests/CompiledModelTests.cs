using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.Runtime.Synthesis;

namespace ModelGen.Generator.Tests;

/// <summary>The compiled class against the generic engine it must agree with bit for bit.</summary>
public sealed class CompiledModelTests
{
    private const int Threads = 2;

    /// <summary>Every architecture, and every weight format the kernels compute, with tied and untied outputs.</summary>
    public static TheoryData<string, GgmlType, bool> Models => new()
    {
        { "llama", GgmlType.F32, false },
        { "llama", GgmlType.F16, false },
        { "llama", GgmlType.BF16, false },
        { "llama", GgmlType.Q8_0, false },
        { "llama", GgmlType.Q4_0, true },
        { "llama", GgmlType.Q4_1, false },
        { "llama", GgmlType.Q5_0, false },
        { "qwen2", GgmlType.Q5_1, false },
        { "qwen3", GgmlType.IQ4_NL, false },
        { "qwen2", GgmlType.Q8_0, false },
        { "qwen3", GgmlType.Q4_0, false },
        { "llama", GgmlType.Q2_K, false },
        { "llama", GgmlType.Q3_K, true },
        { "llama", GgmlType.Q4_K, false },
        { "qwen2", GgmlType.Q5_K, true },
        { "qwen3", GgmlType.Q6_K, false },
        { "llama", GgmlType.IQ4_XS, false },
        { "gemma3", GgmlType.Q8_0, true },
        { "gemma3", GgmlType.Q4_K, true },
        { "gemma3", GgmlType.F16, false },
        { "phi3", GgmlType.Q8_0, false },
        { "phi3", GgmlType.Q4_K, true },
        { "qwen3moe", GgmlType.Q8_0, false },
        { "qwen3moe", GgmlType.Q4_K, true },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Logits_and_greedy_generation_match_the_generic_engine(string architecture, GgmlType type, bool tied)
    {
        var shape = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.IQ4_XS => ModelFiles.KQuantMicro,
            GgmlType.BF16 => ModelFiles.OddFeedForwardMicro,
            _ => ModelShape.Micro,
        };
        var path = ModelFiles.Get(architecture, type, shape, tied);
        using var compiled = new CompiledModel(GeneratorHarness.GenerateSource(path), path, Threads);
        using var generic = GenericModel.Load(path, new ModelOptions { Threads = Threads });

        // Prefill: every position's logits, in one batch (the matrix-matrix kernels).
        var prompt = Enumerable.Range(0, 23).Select(i => (i * 37 + 5) % generic.VocabularySize).ToArray();
        var expected = generic.Forward(prompt, 0, allLogits: true).ToArray();
        var actual = compiled.Model.Forward(prompt, 0, allLogits: true).ToArray();
        AssertBitwiseEqual(expected, actual, "prefill");

        // Decode: one token at a time after the prefill (the matrix-vector kernels), feeding back the argmax.
        int token = ArgMax(expected.AsSpan(expected.Length - generic.VocabularySize));
        for (int position = prompt.Length; position < prompt.Length + 8; position++)
        {
            expected = generic.Forward([token], position).ToArray();
            actual = compiled.Model.Forward([token], position).ToArray();
            AssertBitwiseEqual(expected, actual, $"decode at {position}");
            token = ArgMax(expected);
        }

        var options = new GenerationOptions { MaxTokens = 12, Sampling = SamplingOptions.Greedy };
        var genericText = string.Concat(generic.Generator.Generate("Once upon a time", options));
        var generator = new TextGenerator(compiled.Model, generic.Tokenizer);
        var compiledText = string.Concat(generator.Generate("Once upon a time", options));
        Assert.Equal(generic.Generator.LastTokens, generator.LastTokens);
        Assert.Equal(genericText, compiledText);
        Assert.Equal(12, generator.LastTokens.Length);
    }

    [Fact]
    public void LongRoPE_factors_are_applied_as_the_generic_engine_applies_them()
    {
        var path = ModelFiles.TempPath("phi3-longrope.gguf");
        ModelSynthesizer.Write(new SynthesisOptions { Shape = ModelShape.Micro, Architecture = "phi3", WeightType = GgmlType.Q8_0, LongRopeOriginalContext = 128 }, path);
        using var compiled = new CompiledModel(GeneratorHarness.GenerateSource(path), path, Threads);
        using var generic = GenericModel.Load(path, new ModelOptions { Threads = Threads });
        Assert.Equal(128, generic.Config.RopeOriginalContextLength);
        var prompt = Enumerable.Range(0, 19).Select(i => (i * 53 + 11) % generic.VocabularySize).ToArray();
        AssertBitwiseEqual(generic.Forward(prompt, 0, allLogits: true).ToArray(), compiled.Model.Forward(prompt, 0, allLogits: true).ToArray(), "prefill");
    }

    [Fact]
    public void The_compiled_class_exposes_its_hyper_parameters_and_generates_through_its_own_generator()
    {
        var path = ModelFiles.Get("llama", GgmlType.Q8_0);
        using var compiled = new CompiledModel(GeneratorHarness.GenerateSource(path), path, Threads);
        var type = compiled.Model.GetType();
        var shape = ModelShape.Micro;
        Assert.Equal(shape.EmbeddingLength, Constant<int>(type, "EmbeddingLength"));
        Assert.Equal(shape.BlockCount, Constant<int>(type, "LayerCount"));
        Assert.Equal(shape.HeadCount, Constant<int>(type, "HeadCount"));
        Assert.Equal(shape.KvHeadCount, Constant<int>(type, "KvHeadCount"));
        Assert.Equal(shape.HeadDimension, Constant<int>(type, "HeadDimension"));
        Assert.Equal(shape.FeedForwardLength, Constant<int>(type, "FeedForwardLength"));
        Assert.Equal(shape.ContextLength, Constant<int>(type, "ContextLength"));
        Assert.Equal(1e-5f, Constant<float>(type, "RmsEpsilon"));
        Assert.Equal(10000f, Constant<float>(type, "RopeBase"));
        Assert.Equal("llama", Constant<string>(type, "Architecture"));
        Assert.Matches("^[0-9a-f]{64}$", Constant<string>(type, "Fingerprint"));

        var generator = (TextGenerator)type.GetProperty("Generator")!.GetValue(compiled.Model)!;
        var options = new GenerationOptions { MaxTokens = 5, Sampling = SamplingOptions.Greedy };
        var pieces = ((IAsyncEnumerable<string>)type.GetMethod("GenerateAsync")!.Invoke(compiled.Model, ["Hello", options, CancellationToken.None])!)
            .ToBlockingEnumerable().ToArray();
        Assert.Equal(5, generator.LastTokens.Length);
        using var generic = GenericModel.Load(path, new ModelOptions { Threads = Threads });
        Assert.Equal(string.Concat(generic.Generator.Generate("Hello", options)), string.Concat(pieces));
    }

    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    public void A_batch_of_several_sequences_matches_the_generic_engine(GgmlType type)
    {
        var path = type == GgmlType.Q4_K ? ModelFiles.Get("qwen3", type, ModelFiles.KQuantMicro) : ModelFiles.Get("llama", type);
        using var compiled = new CompiledModel(GeneratorHarness.GenerateSource(path), path, Threads);
        var batched = compiled.Load(path, sequences: 3);
        using var owner = (IDisposable)batched;
        using var generic = GenericModel.Load(path, new ModelOptions { Threads = Threads, Sequences = 3 });
        Assert.Equal(3, batched.SequenceCount);

        // Three prompts of 6, 4 and 9 tokens interleaved in one prefill, the shorter ones' logits not asked for.
        int[] lengths = [6, 4, 9];
        var rows = lengths.SelectMany((length, s) => Enumerable.Range(0, length).Select(i => (Token: (i * 31 + s * 7 + 3) % generic.VocabularySize, Position: i, Sequence: s)))
            .OrderBy(r => r.Position).ThenBy(r => r.Sequence).ToArray();
        int[] tokens = rows.Select(r => r.Token).ToArray(), positions = rows.Select(r => r.Position).ToArray(), sequences = rows.Select(r => r.Sequence).ToArray();
        var outputs = rows.Select(r => r.Sequence == 2).ToArray();
        AssertBitwiseEqual(generic.Forward(tokens, positions, sequences, outputs).ToArray(),
            batched.Forward(tokens, positions, sequences, outputs).ToArray(), "mixed prefill");

        // Then every sequence decodes one token per step, in one batch.
        for (int step = 0; step < 4; step++)
        {
            int[] next = [5 + step, 9 + step, 13 + step];
            var at = lengths.Select(length => length + step).ToArray();
            AssertBitwiseEqual(generic.Forward(next, at, [0, 1, 2], [true, true, true]).ToArray(),
                batched.Forward(next, at, [0, 1, 2], [true, true, true]).ToArray(), $"decode step {step}");
        }
    }

    [Fact]
    public void Decoding_with_sampling_allocates_nothing()
    {
        var path = ModelFiles.Get("llama", GgmlType.Q4_K, ModelFiles.KQuantMicro);
        using var compiled = new CompiledModel(GeneratorHarness.GenerateSource(path), path, Threads);
        var model = compiled.Model;
        var sampler = new Sampler(new SamplingOptions { Temperature = 0.8f, Seed = 3 }, model.VocabularySize);
        var history = new int[48];
        history[0] = 1;

        void Step(int position)
        {
            var logits = model.Forward(history.AsSpan(position, 1), position);
            history[position + 1] = sampler.Sample(logits, history.AsSpan(0, position + 1));
        }

        for (int p = 0; p < 8; p++)
        {
            Step(p);   // warm-up: JIT, per-thread attention scratch
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int p = 8; p < 40; p++)
        {
            Step(p);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"32 decode steps of the compiled class with sampling allocated {allocated} bytes");
    }

    [Fact]
    public void Load_refuses_a_file_whose_tensors_differ_and_names_the_first_difference()
    {
        var compiledFrom = ModelFiles.Get("llama", GgmlType.Q8_0);
        var other = ModelFiles.Get("llama", GgmlType.Q4_0);
        using var compiled = new CompiledModel(GeneratorHarness.GenerateSource(compiledFrom), compiledFrom, Threads);
        var error = Assert.Throws<UnsupportedModelException>(() => compiled.Load(other));
        Assert.Equal($"{Path.GetFileName(other)} does not match TestModel: tensor 'token_embd.weight' is q4_0, compiled q8_0", error.Message);

        var qwen = ModelFiles.Get("qwen2", GgmlType.Q8_0);
        error = Assert.Throws<UnsupportedModelException>(() => compiled.Load(qwen));
        Assert.Equal($"{Path.GetFileName(qwen)} does not match TestModel: Architecture is qwen2, compiled llama", error.Message);
    }

    private static T Constant<T>(Type type, string name) => (T)type.GetField(name)!.GetRawConstantValue()!;

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static void AssertBitwiseEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: logit {i} is {actual[i]:R}, the generic engine's {expected[i]:R}");
            }
        }
    }
}
