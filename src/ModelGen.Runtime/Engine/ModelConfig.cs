using ModelGen.Gguf;
using ModelGen.Kernels.Ops;

namespace ModelGen.Runtime.Engine;

/// <summary>The hyper-parameters of a model of a supported architecture, read from its GGUF metadata and checked.</summary>
/// <remarks>
/// One source for the generic engine and the model compiler: the generator compiles this file too, so a file the
/// engine refuses at load is refused at build time with the same words, and the compiled class's constants are these
/// values. Every derived size is checked here, before anything is allocated from it.
/// </remarks>
public sealed record ModelConfig
{
    /// <summary>Architectures the engine runs.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = KnownArchitectures.All.Select(a => a.Name).ToArray();

    /// <summary>
    /// The largest width (embedding, heads together, feed-forward, vocabulary) accepted: far above any real model's,
    /// and low enough that a batch of activations of that width is a valid array.
    /// </summary>
    public const int MaxWidth = 1 << 24;

    /// <summary>The most blocks accepted: far above any real model's.</summary>
    public const int MaxLayers = 1 << 16;

    /// <summary>The most experts accepted: above any real model's (Qwen3-235B has 128, DeepSeek-V3 256).</summary>
    public const int MaxExperts = 1024;

    /// <summary>Elements of the largest array the runtime allocates (.NET's <c>Array.MaxLength</c>).</summary>
    private const long MaxArrayLength = 0x7FFFFFC7;

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

    /// <summary>Factor of rotary cos and sin (<c>rope.scaling.attn_factor</c>, LongRoPE's magnitude); 1 without.</summary>
    public float RopeAttentionFactor { get; init; } = 1f;

    /// <summary>
    /// The context the model was trained at before its context was extended (<c>rope.scaling.original_context_length</c>,
    /// else the context): a longer cache takes LongRoPE's long frequency factors, a shorter one the short.
    /// </summary>
    public int RopeOriginalContextLength { get; init; }

    /// <summary>Positions a sliding-window block attends to, its own included; 0 when every block attends to all.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>With a <see cref="SlidingWindow"/>: every this-many-th block attends globally, the others in the window (0: all in the window).</summary>
    public int SlidingWindowPattern { get; init; }

    /// <summary>The rotary base of sliding-window blocks (their frequency scale is 1).</summary>
    public float RopeBaseSlidingWindow { get; init; }

    /// <summary>Experts of a mixture-of-experts feed-forward; 0 for a dense one.</summary>
    public int ExpertCount { get; init; }

    /// <summary>Experts each token runs.</summary>
    public int ExpertsUsed { get; init; }

    /// <summary>Hidden width of one expert's feed-forward.</summary>
    public int ExpertFeedForwardLength { get; init; }

    /// <summary>Factor applied to the token embeddings (gemma's √width); 1 for most architectures.</summary>
    public float EmbeddingScale { get; init; } = 1f;

    /// <summary>Factor of the attention scores: 1/√head size for most; applied to the queries where the architecture does so.</summary>
    public float AttentionScale { get; init; }

    /// <summary>The architecture's block recipe and rotary style.</summary>
    public ArchitectureRules Rules => KnownArchitectures.Find(Architecture)
        ?? throw new InvalidOperationException($"architecture '{DisplayText.Escape(Architecture)}' has no rules");

    /// <summary>Dimension of all query heads together.</summary>
    public int QueryLength => HeadCount * HeadDimension;

    /// <summary>Dimension of all key (and value) heads together.</summary>
    public int KvLength => KvHeadCount * HeadDimension;

    /// <summary>
    /// The hyper-parameters the forward pass depends on, by property name (all but <see cref="Name"/>): what a compiled
    /// class fixes as constants, and what a file must match to run on it.
    /// </summary>
    public (string Name, object Value)[] HyperParameters() =>
    [
        (nameof(Architecture), Architecture),
        (nameof(EmbeddingLength), EmbeddingLength),
        (nameof(LayerCount), LayerCount),
        (nameof(HeadCount), HeadCount),
        (nameof(KvHeadCount), KvHeadCount),
        (nameof(HeadDimension), HeadDimension),
        (nameof(FeedForwardLength), FeedForwardLength),
        (nameof(VocabularySize), VocabularySize),
        (nameof(ContextLength), ContextLength),
        (nameof(RmsEpsilon), RmsEpsilon),
        (nameof(RopeBase), RopeBase),
        (nameof(RopeFrequencyScale), RopeFrequencyScale),
        (nameof(RopeDimensions), RopeDimensions),
        (nameof(RopeStyle), RopeStyle),
        (nameof(RopeAttentionFactor), RopeAttentionFactor),
        (nameof(RopeOriginalContextLength), RopeOriginalContextLength),
        (nameof(SlidingWindow), SlidingWindow),
        (nameof(SlidingWindowPattern), SlidingWindowPattern),
        (nameof(RopeBaseSlidingWindow), RopeBaseSlidingWindow),
        (nameof(ExpertCount), ExpertCount),
        (nameof(ExpertsUsed), ExpertsUsed),
        (nameof(ExpertFeedForwardLength), ExpertFeedForwardLength),
        (nameof(EmbeddingScale), EmbeddingScale),
        (nameof(AttentionScale), AttentionScale),
    ];

    /// <summary>Whether block <paramref name="block"/> attends within the <see cref="SlidingWindow"/>, as llama.cpp's <c>is_swa</c>.</summary>
    public bool IsSlidingWindowBlock(int block) =>
        SlidingWindow > 0 && (SlidingWindowPattern == 0 || block % SlidingWindowPattern < SlidingWindowPattern - 1);

    /// <summary>
    /// Reads and checks the hyper-parameters; throws <see cref="UnsupportedModelException"/> naming the key and what
    /// is wrong with it, or <see cref="GgufFormatException"/> for a value of the wrong type.
    /// </summary>
    public static ModelConfig FromMetadata(GgufMetadata md, string source)
    {
        var arch = md.Architecture ?? throw new UnsupportedModelException(source, "no general.architecture key");
        if (KnownArchitectures.Find(arch) is not { } rules)
        {
            throw new UnsupportedModelException(source,
                $"architecture '{DisplayText.Escape(arch)}' is not supported (supported: {string.Join(", ", SupportedArchitectures)})");
        }

        UnsupportedModelException Invalid(string problem) => new(source, problem);

        int Int(string key, int? fallback = null, int minimum = 1)
        {
            var full = $"{arch}.{key}";
            if (!md.TryGetValue(full, out var value))
            {
                return fallback ?? throw Invalid($"missing hyper-parameter {full}");
            }

            if (value.AsArray() is not null)
            {
                throw Invalid($"{full} varies per layer, which the engine does not support");
            }

            return (int)md.GetInteger(full, minimum, int.MaxValue);
        }

        float Float(string key, float fallback)
        {
            float value = md.TryGetSingle($"{arch}.{key}") ?? fallback;
            return IsFinite(value) ? value : throw Invalid($"{arch}.{key} is {Number(value)}: it must be a finite number");
        }

        int embedding = Int("embedding_length");
        int heads = Int("attention.head_count");
        int headDim = Int("attention.key_length", embedding / heads);
        if (headDim == 0)
        {
            throw Invalid($"the head size is 0: {arch}.embedding_length {embedding} over {arch}.attention.head_count {heads}");
        }

        if (Int("attention.value_length", headDim) != headDim)
        {
            throw Invalid("key and value heads of different sizes are not supported");
        }

        int kvHeads = Int("attention.head_count_kv", heads);
        if (heads % kvHeads != 0)
        {
            throw Invalid($"{heads} query heads cannot share {kvHeads} key/value heads evenly");
        }

        float scale = 1f;
        var scalingType = md.TryGetString($"{arch}.rope.scaling.type");
        if (scalingType is "linear" || (scalingType is null && md.ContainsKey($"{arch}.rope.scale_linear")))
        {
            var key = md.ContainsKey($"{arch}.rope.scaling.factor") ? "rope.scaling.factor" : "rope.scale_linear";
            float factor = Float(key, 1f);
            if (factor < 0)
            {
                throw Invalid($"{arch}.{key} is {Number(factor)}: it must not be negative");
            }

            // As llama.cpp: a factor of 0 means no scaling.
            scale = factor > 0 ? 1f / factor : 1f;
        }
        else if (scalingType is not (null or "none"))
        {
            throw Invalid($"rope scaling '{DisplayText.Escape(scalingType)}' is not supported (none or linear)");
        }

        long vocabulary = md.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens.AsArray() is { } t
            ? t.Count
            : Int("vocab_size");

        int layers = Int("block_count");
        int context = Int("context_length");
        if (md.TryGetSingle($"{arch}.final_logit_softcapping") is { } softcap && softcap != 0)
        {
            throw Invalid($"{arch}.final_logit_softcapping is {Number(softcap)}: logit soft-capping is not supported");
        }

        int window = Int("attention.sliding_window", 0, minimum: 0);
        var config = new ModelConfig
        {
            Architecture = arch,
            Name = md.TryGetString("general.name") ?? Path.GetFileNameWithoutExtension(source),
            EmbeddingLength = embedding,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDimension = headDim,
            FeedForwardLength = Int("feed_forward_length"),
            VocabularySize = (int)Math.Min(vocabulary, int.MaxValue),
            ContextLength = context,
            RopeAttentionFactor = Float("rope.scaling.attn_factor", 1f),
            RopeOriginalContextLength = Int("rope.scaling.original_context_length", context),
            RmsEpsilon = Float("attention.layer_norm_rms_epsilon", 1e-5f),
            RopeBase = Float("rope.freq_base", 10000f),
            RopeFrequencyScale = scale,
            RopeDimensions = Int("rope.dimension_count", headDim),
            RopeStyle = rules.RopeStyle,
            SlidingWindow = rules.SlidingWindowPattern > 0 ? window : 0,
            SlidingWindowPattern = rules.SlidingWindowPattern > 0 && window > 0 ? Int("attention.sliding_window_pattern", rules.SlidingWindowPattern, minimum: 0) : 0,
            RopeBaseSlidingWindow = rules.SlidingWindowPattern > 0 && window > 0 ? Float("rope.freq_base_swa", 10000f) : 0f,
            ExpertCount = rules.HasExperts ? Int("expert_count") : 0,
            ExpertsUsed = rules.HasExperts ? Int("expert_used_count") : 0,
            ExpertFeedForwardLength = rules.HasExperts ? Int("expert_feed_forward_length") : 0,
            EmbeddingScale = rules.ScalesEmbedding ? (float)Math.Sqrt(embedding) : 1f,
            AttentionScale = rules.AttentionScale(embedding, heads, headDim, layers),
        };
        config.Check(source, vocabulary);
        return config;
    }

    /// <summary>
    /// Throws <see cref="UnsupportedModelException"/> if a KV cache of <paramref name="contextLength"/> positions or
    /// activations for <paramref name="maxBatch"/> tokens would not fit in one array each.
    /// </summary>
    public void CheckBuffers(int contextLength, int maxBatch, string source)
    {
        long widest = Math.Max(Math.Max(EmbeddingLength, QueryLength), Math.Max(FeedForwardLength, VocabularySize));
        if ((long)contextLength * KvLength > MaxArrayLength || maxBatch * widest > MaxArrayLength)
        {
            throw new UnsupportedModelException(source,
                $"a context of {contextLength} tokens and batches of {maxBatch} need buffers larger than .NET arrays can be");
        }
    }

    /// <summary>
    /// Bytes the KV cache (F16 keys and values) and the activation buffers take for <paramref name="contextLength"/>
    /// positions of each of <paramref name="sequences"/> sequences and batches of <paramref name="maxBatch"/> tokens:
    /// what a model allocates besides its mapped weights.
    /// </summary>
    public long WorkingSetBytes(int contextLength, int maxBatch, int sequences = 1)
    {
        long cache = 2L * LayerCount * sequences * contextLength * KvLength * sizeof(ushort);
        long perToken = 2L * Math.Max(EmbeddingLength, QueryLength) + 2L * QueryLength + 2L * KvLength + 2L * FeedForwardLength + VocabularySize;
        return cache + (long)maxBatch * perToken * sizeof(float);
    }

    private void Check(string source, long vocabulary)
    {
        UnsupportedModelException Invalid(string problem) => new(source, problem);
        string arch = Architecture;

        void Width(string what, long value)
        {
            if (value < 1 || value > MaxWidth)
            {
                throw Invalid($"{what} is {value}: it must be between 1 and {MaxWidth}");
            }
        }

        Width($"{arch}.embedding_length", EmbeddingLength);
        Width($"{arch}.feed_forward_length", FeedForwardLength);
        Width("the vocabulary (tokenizer.ggml.tokens)", vocabulary);
        Width($"the query heads together ({arch}.attention.head_count × head size)", (long)HeadCount * HeadDimension);
        if (LayerCount > MaxLayers)
        {
            throw Invalid($"{arch}.block_count is {LayerCount}: at most {MaxLayers} blocks are supported");
        }

        if (RopeDimensions % 2 != 0 || RopeDimensions > HeadDimension)
        {
            throw Invalid($"{arch}.rope.dimension_count is {RopeDimensions}: it must be even and at most the head size, {HeadDimension}");
        }

        if (RmsEpsilon < 0)
        {
            throw Invalid($"{arch}.attention.layer_norm_rms_epsilon is {Number(RmsEpsilon)}: it must not be negative");
        }

        if (RopeBase <= 0)
        {
            throw Invalid($"{arch}.rope.freq_base is {Number(RopeBase)}: it must be positive");
        }

        if (ExpertCount > MaxExperts || ExpertsUsed > ExpertCount)
        {
            throw Invalid($"{arch}.expert_count is {ExpertCount} and {arch}.expert_used_count {ExpertsUsed}: at most {MaxExperts} experts, and no more used than there are");
        }

        if (ExpertCount > 0)
        {
            Width($"{arch}.expert_feed_forward_length", ExpertFeedForwardLength);
        }

        if (SlidingWindow > 0 && RopeBaseSlidingWindow <= 0)
        {
            throw Invalid($"{arch}.rope.freq_base_swa is {Number(RopeBaseSlidingWindow)}: it must be positive");
        }
    }

    private static bool IsFinite(float value) => !float.IsNaN(value) && !float.IsInfinity(value);

    /// <summary>The same digits whatever the culture: the generator runs inside a compiler with the user's.</summary>
    private static string Number(float value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
