using ModelGen.Gguf;
using ModelGen.Kernels.Ops;

namespace ModelGen.Runtime.Engine;

/// <summary>The hyper-parameters of a llama, qwen2 or qwen3 model, read from its GGUF metadata.</summary>
public sealed record ModelConfig
{
    /// <summary>Architectures the engine runs.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["llama", "qwen2", "qwen3"];

    public required string Architecture { get; init; }

    public required string Name { get; init; }

    public required int EmbeddingLength { get; init; }

    public required int LayerCount { get; init; }

    public required int HeadCount { get; init; }

    public required int KvHeadCount { get; init; }

    /// <summary>Size of one query/key head (<c>attention.key_length</c>, else embedding / heads).</summary>
    public required int HeadDimension { get; init; }

    public required int FeedForwardLength { get; init; }

    public required int VocabularySize { get; init; }

    public required int ContextLength { get; init; }

    public required float RmsEpsilon { get; init; }

    public required float RopeBase { get; init; }

    /// <summary>1 / linear scaling factor; 1 without scaling.</summary>
    public required float RopeFrequencyScale { get; init; }

    /// <summary>Rotated dimensions per head.</summary>
    public required int RopeDimensions { get; init; }

    public required RopeStyle RopeStyle { get; init; }

    /// <summary>Dimension of all query heads together.</summary>
    public int QueryLength => HeadCount * HeadDimension;

    /// <summary>Dimension of all key (and value) heads together.</summary>
    public int KvLength => KvHeadCount * HeadDimension;

    /// <summary>Reads and checks the hyper-parameters; throws <see cref="UnsupportedModelException"/> naming what is wrong.</summary>
    public static ModelConfig FromMetadata(GgufMetadata md, string source)
    {
        var arch = md.Architecture ?? throw new UnsupportedModelException($"{source}: no general.architecture key");
        if (!SupportedArchitectures.Contains(arch))
        {
            throw new UnsupportedModelException(
                $"{source}: architecture '{arch}' is not supported (supported: {string.Join(", ", SupportedArchitectures)})");
        }

        int Int(string key, int? fallback = null)
        {
            var full = $"{arch}.{key}";
            if (!md.TryGetValue(full, out var value))
            {
                return fallback ?? throw new UnsupportedModelException($"{source}: missing hyper-parameter {full}");
            }

            if (value.AsArray() is not null)
            {
                throw new UnsupportedModelException($"{source}: {full} varies per layer, which the engine does not support");
            }

            return (int)md.GetInteger(full, 1, int.MaxValue);
        }

        float Float(string key, float fallback) => md.TryGetSingle($"{arch}.{key}") ?? fallback;

        int embedding = Int("embedding_length");
        int heads = Int("attention.head_count");
        int headDim = Int("attention.key_length", embedding / heads);
        if (Int("attention.value_length", headDim) != headDim)
        {
            throw new UnsupportedModelException($"{source}: key and value heads of different sizes are not supported");
        }

        int kvHeads = Int("attention.head_count_kv", heads);
        if (heads % kvHeads != 0)
        {
            throw new UnsupportedModelException($"{source}: {heads} query heads cannot share {kvHeads} key/value heads evenly");
        }

        float scale = 1f;
        var scalingType = md.TryGetString($"{arch}.rope.scaling.type");
        if (scalingType is "linear" || (scalingType is null && md.ContainsKey($"{arch}.rope.scale_linear")))
        {
            float factor = md.TryGetSingle($"{arch}.rope.scaling.factor") ?? md.TryGetSingle($"{arch}.rope.scale_linear") ?? 1f;
            scale = factor > 0 ? 1f / factor : 1f;
        }
        else if (scalingType is not (null or "none"))
        {
            throw new UnsupportedModelException($"{source}: rope scaling '{scalingType}' is not supported (none or linear)");
        }

        int vocabulary = md.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens.AsArray() is { } t
            ? (int)t.Count
            : Int("vocab_size");

        return new ModelConfig
        {
            Architecture = arch,
            Name = md.TryGetString("general.name") ?? Path.GetFileNameWithoutExtension(source),
            EmbeddingLength = embedding,
            LayerCount = Int("block_count"),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDimension = headDim,
            FeedForwardLength = Int("feed_forward_length"),
            VocabularySize = vocabulary,
            ContextLength = Int("context_length"),
            RmsEpsilon = Float("attention.layer_norm_rms_epsilon", 1e-5f),
            RopeBase = Float("rope.freq_base", 10000f),
            RopeFrequencyScale = scale,
            RopeDimensions = Int("rope.dimension_count", headDim),
            RopeStyle = arch == "llama" ? RopeStyle.Normal : RopeStyle.NeoX,
        };
    }
}
