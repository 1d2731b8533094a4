using ModelGen.Gguf;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Quantization;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Quantization;

/// <summary>Float models made once per test run for the quantization tests.</summary>
public sealed class FloatModels : IDisposable
{
    /// <summary>Every matrix dimension a multiple of 256, so K-quants apply; 4 query heads per KV head; 2 layers, so the _M mixes differ by layer.</summary>
    public static readonly ModelShape K256 = new("k256", 256, 2, 4, 1, 256, 512);

    private readonly string _directory = System.IO.Directory.CreateTempSubdirectory("modelgen-quant-").FullName;
    private readonly Dictionary<string, string> _paths = [];
    private readonly Lock _lock = new();

    public string Directory => _directory;

    /// <summary>
    /// <c>micro</c> (dim 64, FFN 192: no K-quant fits) with the llama SentencePiece vocabulary (32000 rows of
    /// embedding and output); <c>micro-tiny</c>, the same with the project's 672-token vocabulary; <c>k256</c> with
    /// that small vocabulary too. The vocabulary changes only the row count of two tensors; small ones keep the slow
    /// quantizers (IQ4's scale search) within the test time. <c>k256-ARCH</c> is k256 of another architecture.
    /// </summary>
    public string Get(string model, GgmlType type, bool tied = false)
    {
        var name = $"{model}-{type}{(tied ? "-tied" : "")}.gguf";
        lock (_lock)
        {
            if (!_paths.TryGetValue(name, out var path))
            {
                path = Path.Combine(_directory, name);
                ModelSynthesizer.Write(new SynthesisOptions
                {
                    Shape = model.StartsWith("k256", StringComparison.Ordinal) ? K256 : ModelShape.Micro,
                    Architecture = model.StartsWith("k256-", StringComparison.Ordinal) ? model["k256-".Length..] : "llama",
                    WeightType = type,
                    TiedEmbeddings = tied,
                    VocabularyDonor = model == "micro" ? Path.Combine(SharedData.Vocab, "ggml-vocab-llama-spm.gguf") : null,
                }, path);
                _paths[name] = path;
            }

            return path;
        }
    }

    public void Dispose() => System.IO.Directory.Delete(_directory, recursive: true);
}

/// <summary>
/// <see cref="ModelQuantizer"/> against <c>llama_model_quantize</c> of the pinned llama.cpp on the same input:
/// every tensor's type, shape and bytes, the metadata, and in the end the whole file, byte for byte.
/// </summary>
public sealed class QuantizeAgainstLlamaCppTests(ITestOutputHelper output, FloatModels models) : IClassFixture<FloatModels>
{
    public static TheoryData<string, GgmlType, bool, QuantizationType> Cases()
    {
        var cases = new TheoryData<string, GgmlType, bool, QuantizationType>();

        // Micro: the 32-element types, and every K-quant falling back to them.
        foreach (var type in QuantizationTypes.All.Except([QuantizationType.IQ4_NL, QuantizationType.IQ4_XS]))
        {
            cases.Add("micro", GgmlType.F32, false, type);
        }

        cases.Add("micro-tiny", GgmlType.F32, false, QuantizationType.IQ4_NL);

        // k256: the K-quants themselves, with the mixes' choices by layer and for 4 query heads per KV head.
        foreach (var type in new[] { QuantizationType.Q2_K, QuantizationType.Q3_K_M, QuantizationType.Q4_K_M, QuantizationType.Q5_K_M,
                     QuantizationType.Q6_K, QuantizationType.IQ4_XS, QuantizationType.Q4_0 })
        {
            cases.Add("k256", GgmlType.F32, false, type);
        }

        // F16 and BF16 sources go through ggml's row conversion to F32 first; F16 to F16 is a copy.
        foreach (var type in new[] { QuantizationType.F16, QuantizationType.BF16, QuantizationType.Q8_0 })
        {
            cases.Add("micro", GgmlType.F16, false, type);
        }

        cases.Add("k256", GgmlType.F16, false, QuantizationType.Q6_K);
        cases.Add("micro-tiny", GgmlType.BF16, false, QuantizationType.Q4_K_M);

        // Tied embeddings: token_embd.weight is quantized as the output projection.
        cases.Add("k256", GgmlType.F32, true, QuantizationType.Q4_K_M);
        cases.Add("micro", GgmlType.F32, true, QuantizationType.Q4_0);

        // The other architectures' tensors: gemma3's post-norms and tied embedding, phi3's fused projections.
        cases.Add("k256-gemma3", GgmlType.F32, true, QuantizationType.Q4_K_M);
        cases.Add("k256-gemma3", GgmlType.F32, true, QuantizationType.Q3_K_M);
        cases.Add("k256-phi3", GgmlType.F32, false, QuantizationType.Q4_K_M);
        cases.Add("k256-phi3", GgmlType.F32, false, QuantizationType.Q5_K_M);
        cases.Add("k256-qwen3moe", GgmlType.F32, false, QuantizationType.Q4_K_M);
        cases.Add("k256-qwen3moe", GgmlType.F32, false, QuantizationType.Q3_K_M);
        cases.Add("k256-qwen3moe", GgmlType.F32, false, QuantizationType.Q8_0);
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Quantized_files_are_llama_quantizes_byte_for_byte(string model, GgmlType source, bool tied, QuantizationType type)
    {
        var input = models.Get(model, source, tied);
        var stem = Path.Combine(models.Directory, $"{Path.GetFileNameWithoutExtension(input)}-{type}");
        var ours = stem + ".ours.gguf";
        var theirs = stem + ".llama.gguf";
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            ModelQuantizer.Quantize(input, ours, type);
            var oursTime = clock.Elapsed;
            QuantizeWithLlamaCpp(input, theirs, type);
            output.WriteLine($"ours {oursTime.TotalMilliseconds:0} ms, llama.cpp {(clock.Elapsed - oursTime).TotalMilliseconds:0} ms");

            using var a = GgufFile.Open(ours);
            using var b = GgufFile.Open(theirs);
            output.WriteLine(string.Join(", ", a.Tensors.GroupBy(t => t.Type).Select(g => $"{g.Count()} {g.Key.Info().Name}")));

            Assert.Equal(b.Metadata.Entries.Select(e => e.Key), a.Metadata.Entries.Select(e => e.Key));
            foreach (var (x, y) in a.Metadata.Entries.Zip(b.Metadata.Entries))
            {
                Assert.True(x.Value.Equals(y.Value), $"metadata '{x.Key}': ours {x.Value}, llama.cpp's {y.Value}");
            }

            Assert.Equal(b.Tensors.Select(t => t.Name), a.Tensors.Select(t => t.Name));
            foreach (var (x, y) in a.Tensors.Zip(b.Tensors))
            {
                Assert.True(x.Type == y.Type, $"{x.Name}: ours {x.Type}, llama.cpp's {y.Type}");
                Assert.Equal(y.Shape, x.Shape);
                Assert.True(a.GetData(x).SequenceEqual(b.GetData(y)), $"{x.Name} ({x.Type}): data differs");
            }

            Assert.True(File.ReadAllBytes(ours).AsSpan().SequenceEqual(File.ReadAllBytes(theirs)), "files differ outside metadata and tensor data");
        }
        finally
        {
            File.Delete(ours);
            File.Delete(theirs);
        }
    }

    [Fact]
    public void The_medium_mixes_give_chosen_layers_more_bits()
    {
        // What the byte comparison above covers is not one type everywhere: Q4_K_M on the k256 model keeps norms F32,
        // gives output.weight Q6_K, and attn_v/ffn_down Q6_K in the last of its 2 layers (the last eighth gets more bits).
        using var file = GgufFile.Open(models.Get("k256", GgmlType.F32));
        var plan = QuantizationPlan.Create(file.Header, QuantizationType.Q4_K_M).ToDictionary(t => t.Name, t => t.Type);
        Assert.Equal(GgmlType.F32, plan["blk.0.attn_norm.weight"]);
        Assert.Equal(GgmlType.Q6_K, plan["output.weight"]);
        Assert.Equal(GgmlType.Q4_K, plan["token_embd.weight"]);
        Assert.Equal([GgmlType.Q4_K, GgmlType.Q6_K], Enumerable.Range(0, 2).Select(i => plan[$"blk.{i}.attn_v.weight"]));
        Assert.Equal([GgmlType.Q4_K, GgmlType.Q6_K], Enumerable.Range(0, 2).Select(i => plan[$"blk.{i}.ffn_down.weight"]));
        Assert.Equal(GgmlType.Q4_K, plan["blk.1.attn_q.weight"]);

        // With 4 query heads per KV head, Q2_K gives attn_v Q4_K instead of Q3_K, IQ4_XS gives it Q5_K.
        Assert.Equal(GgmlType.Q4_K, QuantizationPlan.Create(file.Header, QuantizationType.Q2_K).Single(t => t.Name == "blk.0.attn_v.weight").Type);
        Assert.Equal(GgmlType.Q5_K, QuantizationPlan.Create(file.Header, QuantizationType.IQ4_XS).Single(t => t.Name == "blk.0.attn_v.weight").Type);

        // On micro (rows of 64 and 192) no K-quant fits: Q4_K falls back to Q5_0, Q6_K to Q8_0.
        using var micro = GgufFile.Open(models.Get("micro", GgmlType.F32));
        var fallback = QuantizationPlan.Create(micro.Header, QuantizationType.Q4_K_M).ToDictionary(t => t.Name, t => t.Type);
        Assert.Equal(GgmlType.Q8_0, fallback["output.weight"]);
        Assert.Equal(GgmlType.Q5_0, fallback["blk.1.attn_q.weight"]);
        Assert.Equal(GgmlType.Q5_0, fallback["blk.0.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q8_0, fallback["blk.4.ffn_down.weight"]);
    }

    [Fact]
    public void A_quantized_model_is_refused_as_input()
    {
        var input = models.Get("micro-tiny", GgmlType.Q8_0);
        var e = Assert.Throws<UnsupportedModelException>(() => ModelQuantizer.Quantize(input, input + ".out", QuantizationType.Q4_0));
        Assert.Contains("not a float model", e.Message);
        Assert.False(File.Exists(input + ".out"));
    }

    private static void QuantizeWithLlamaCpp(string input, string output, QuantizationType type)
    {
        LlamaCppLibrary.EnsureLoaded();
        LlamaNative.SilenceLogging();
        var parameters = LlamaQuantize.DefaultParams();
        parameters.FileType = (uint)type;
        parameters.ThreadCount = 2;
        Assert.True(LlamaQuantize.Quantize(input, output, parameters) == 0, $"llama_model_quantize failed for {type}");
    }
}
