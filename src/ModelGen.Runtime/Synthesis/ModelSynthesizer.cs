using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Synthesis;

/// <summary>What to synthesize: a model of <see cref="Shape"/> with random weights, for tests and benchmarks.</summary>
public sealed record SynthesisOptions
{
    public required ModelShape Shape { get; init; }

    /// <summary>A supported architecture (<see cref="ModelConfig.SupportedArchitectures"/>).</summary>
    public string Architecture { get; init; } = "llama";

    /// <summary>The attention window of an architecture with sliding-window blocks (gemma3); 512 as Gemma 3 270M.</summary>
    public int SlidingWindow { get; init; } = 512;

    /// <summary>
    /// With a sliding window: every this-many-th block attends globally, written as <c>attention.sliding_window_pattern</c>;
    /// 0 leaves the key out, so that the architecture's own period applies (gemma3: 6).
    /// </summary>
    public int SlidingWindowPattern { get; init; }

    /// <summary>Experts of an architecture with a mixture-of-experts feed-forward (qwen3moe), each as wide as the shape's feed-forward.</summary>
    public int ExpertCount { get; init; } = 8;

    /// <summary>Experts each token runs, of <see cref="ExpertCount"/>.</summary>
    public int ExpertsUsed { get; init; } = 2;

    /// <summary>
    /// For an architecture with LongRoPE (phi3): the original context, below the shape's, that its frequency factors
    /// extend; the file then carries long and short factors and LongRoPE's magnitude. 0 for none.
    /// </summary>
    public int LongRopeOriginalContext { get; init; }

    /// <summary>Type of the 2-D weight matrices; norms and biases stay F32 as llama.cpp keeps them.</summary>
    public GgmlType WeightType { get; init; } = GgmlType.F32;

    /// <summary>Omit <c>output.weight</c> so the output projection reuses the token embedding.</summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>A GGUF whose tokenizer.* metadata is copied; null for the project's own <see cref="TinyVocabulary"/>.</summary>
    public string? VocabularyDonor { get; init; }

    public int Seed { get; init; } = 1234;

    /// <summary>general.name; by default names the shape and says the weights are random.</summary>
    public string? Name { get; init; }
}

/// <summary>
/// Writes a model with seeded random weights and a real vocabulary. Weights are generated row by row while the file
/// is written, so a 7B shape needs no more memory than one row.
/// </summary>
public static class ModelSynthesizer
{
    /// <summary>Writes the model to <paramref name="path"/>; matrices are quantized with ggml's reference quantizers.</summary>
    public static void Write(SynthesisOptions options, string path, IProgress<double>? progress = null)
    {
        var arch = options.Architecture;
        var rules = KnownArchitectures.Find(arch)
            ?? throw new ArgumentException($"unsupported architecture '{arch}': {string.Join(", ", ModelConfig.SupportedArchitectures)}");

        var shape = options.Shape;
        var writer = new GgufWriter();
        writer.Add("general.architecture", GgufValue.Of(arch))
            .Add("general.name", GgufValue.Of(options.Name ?? $"ModelGen {shape.Name} (random weights)"))
            .Add("general.file_type", GgufValue.Of(FileType(options.WeightType)));

        int vocabularySize = AddVocabulary(writer, options.VocabularyDonor);
        writer.Add($"{arch}.context_length", GgufValue.Of((uint)shape.ContextLength))
            .Add($"{arch}.embedding_length", GgufValue.Of((uint)shape.EmbeddingLength))
            .Add($"{arch}.block_count", GgufValue.Of((uint)shape.BlockCount))
            .Add($"{arch}.feed_forward_length", GgufValue.Of((uint)shape.FeedForwardLength))
            .Add($"{arch}.attention.head_count", GgufValue.Of((uint)shape.HeadCount))
            .Add($"{arch}.attention.head_count_kv", GgufValue.Of((uint)shape.KvHeadCount))
            .Add($"{arch}.rope.freq_base", GgufValue.Of(arch == "llama" ? 10000f : 1000000f))
            .Add($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Of(arch == "llama" ? 1e-5f : 1e-6f));
        if (arch == "llama")
        {
            writer.Add($"{arch}.rope.dimension_count", GgufValue.Of((uint)shape.HeadDimension))
                .Add($"{arch}.vocab_size", GgufValue.Of((uint)vocabularySize));
        }

        if (rules.SlidingWindowPattern > 0)
        {
            writer.Add($"{arch}.attention.key_length", GgufValue.Of((uint)shape.HeadDimension))
                .Add($"{arch}.attention.value_length", GgufValue.Of((uint)shape.HeadDimension))
                .Add($"{arch}.attention.sliding_window", GgufValue.Of((uint)options.SlidingWindow));
            if (options.SlidingWindowPattern > 0)
            {
                writer.Add($"{arch}.attention.sliding_window_pattern", GgufValue.Of((uint)options.SlidingWindowPattern));
            }
        }

        if (rules.RopeFactors && options.LongRopeOriginalContext > 0)
        {
            // Phi-3's converter: magnitude sqrt(1 + ln(scale) / ln(original)) for a context scale-times the original.
            double scale = (double)shape.ContextLength / options.LongRopeOriginalContext;
            writer.Add($"{arch}.rope.scaling.original_context_length", GgufValue.Of((uint)options.LongRopeOriginalContext))
                .Add($"{arch}.rope.scaling.attn_factor", GgufValue.Of((float)Math.Sqrt(1 + Math.Log(scale) / Math.Log(options.LongRopeOriginalContext))));
        }

        if (rules.HasExperts)
        {
            writer.Add($"{arch}.expert_count", GgufValue.Of((uint)options.ExpertCount))
                .Add($"{arch}.expert_used_count", GgufValue.Of((uint)options.ExpertsUsed))
                .Add($"{arch}.expert_feed_forward_length", GgufValue.Of((uint)shape.FeedForwardLength));
        }

        // The tensors are the architecture's own roles (ModelTensors), the optional ones left out.
        var config = new ModelConfig
        {
            Architecture = arch,
            Name = "",
            EmbeddingLength = shape.EmbeddingLength,
            LayerCount = shape.BlockCount,
            HeadCount = shape.HeadCount,
            KvHeadCount = shape.KvHeadCount,
            HeadDimension = shape.HeadDimension,
            FeedForwardLength = shape.FeedForwardLength,
            VocabularySize = vocabularySize,
            ContextLength = shape.ContextLength,
            RmsEpsilon = 0,
            RopeBase = 0,
            RopeFrequencyScale = 1,
            RopeDimensions = shape.HeadDimension,
            RopeStyle = rules.RopeStyle,
            ExpertCount = rules.HasExperts ? options.ExpertCount : 0,
            ExpertsUsed = rules.HasExperts ? options.ExpertsUsed : 0,
            ExpertFeedForwardLength = rules.HasExperts ? shape.FeedForwardLength : 0,
        };
        // The embedding first, as llama.cpp's converters write it; then the blocks and the output, in the roles' order.
        bool longRope = rules.RopeFactors && options.LongRopeOriginalContext > 0;
        var plan = ModelTensors.Roles(config, options.TiedEmbeddings)
            .Where(role => role.Required || longRope && role.Name is ModelTensors.RopeFactorsLong or ModelTensors.RopeFactorsShort)
            .OrderBy(role => role.Name == ModelTensors.TokenEmbedding ? 0 : 1).Select(role => role.Use switch
        {
            // Norm weights scatter around 1, biases around 0; matrices are scaled to their fan-in, the embedding not.
            TensorUse.Vector => (role.Name, role.Shape, GgmlType.F32, role.Name.EndsWith(".bias", StringComparison.Ordinal) ? 0.1f : 0f),
            _ => (role.Name, role.Shape, options.WeightType, role.Name == ModelTensors.TokenEmbedding ? 1f : Fan((int)role.Shape[0])),
        }).ToList();

        static long RowsOf(long[] shape) => shape.Skip(1).Aggregate(1L, (rows, d) => rows * d);
        long totalRows = plan.Sum(t => RowsOf(t.Shape)), rowsDone = 0;
        foreach (var (name, tensorShape, type, scale) in plan)
        {
            writer.AddTensor(name, type, tensorShape, stream =>
            {
                int rowLength = (int)tensorShape[0];
                long rows = RowsOf(tensorShape);
                var rng = new Random(options.Seed ^ StableHash(name));
                var values = new float[rowLength];
                var bytes = new byte[type.Info().RowBytes(rowLength)];
                for (long r = 0; r < rows; r++)
                {
                    for (int i = 0; i < values.Length; i++)
                    {
                        // Norm weights (scale 0) scatter around 1; everything else is a zero-mean sum of uniforms.
                        float noise = (float)(rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5);
                        values[i] = scale == 0f ? 1f + 0.1f * noise : scale * noise;
                    }

                    Encode(type, values, bytes);
                    stream.Write(bytes);
                    progress?.Report((double)++rowsDone / totalRows);
                }
            });
        }

        writer.Write(path);
    }

    private static float Fan(int fanIn) => 2f / MathF.Sqrt(fanIn);

    private static int AddVocabulary(GgufWriter writer, string? donor)
    {
        if (donor is null)
        {
            TinyVocabulary.AddTo(writer);
        }
        else
        {
            var header = GgufReader.ReadHeader(donor);
            foreach (var entry in header.Metadata.Entries.Where(e => e.Key.StartsWith("tokenizer.", StringComparison.Ordinal)))
            {
                writer.Add(entry.Key, entry.Value);
            }
        }

        return (int)CountTokens(writer);
    }

    private static long CountTokens(GgufWriter writer) => writer.Metadata.Single(e => e.Key == "tokenizer.ggml.tokens").Value.AsArray()!.Count;

    private static void Encode(GgmlType type, ReadOnlySpan<float> values, Span<byte> bytes)
    {
        if (type == GgmlType.F32)
        {
            MemoryMarshal.AsBytes(values).CopyTo(bytes);
        }
        else
        {
            Engine.Dequantizer.QuantizeRow(type, values, bytes);
        }
    }

    /// <summary>llama.cpp's <c>general.file_type</c> (enum llama_ftype) for a model whose matrices are <paramref name="type"/>.</summary>
    private static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q4_1 => 3,
        GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9,
        GgmlType.Q2_K => 10,
        GgmlType.Q3_K => 12,
        GgmlType.Q4_K => 15,
        GgmlType.Q5_K => 17,
        GgmlType.Q6_K => 18,
        GgmlType.IQ4_NL => 25,
        GgmlType.IQ4_XS => 30,
        GgmlType.BF16 => 32,
        _ => throw new NotSupportedException($"no llama.cpp file type for {type}"),
    };

    /// <summary>FNV-1a: the same on every run and platform, unlike string.GetHashCode.</summary>
    private static int StableHash(string s)
    {
        uint h = 2166136261;
        foreach (char c in s)
        {
            h = (h ^ c) * 16777619;
        }

        return (int)h;
    }
}
