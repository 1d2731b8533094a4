using ModelGen.Gguf;

namespace ModelGen.TestSupport;

/// <summary>
/// Hyper-parameters that a llama model of the micro shape (dim 64, 8 heads of 8, 4 KV heads) must be refused for,
/// each with the problem the engine and the generator both name: they share one set of rules.
/// </summary>
public static class BadHyperParameters
{
    public static IReadOnlyList<(string Name, string Key, GgufValue Value, string Problem)> Cases { get; } =
    [
        ("rope-odd", "llama.rope.dimension_count", GgufValue.Of(7u), "llama.rope.dimension_count is 7: it must be even and at most the head size, 8"),
        ("rope-wide", "llama.rope.dimension_count", GgufValue.Of(18u), "llama.rope.dimension_count is 18: it must be even and at most the head size, 8"),
        ("rope-huge", "llama.rope.dimension_count", GgufValue.Of(1u << 30), "llama.rope.dimension_count is 1073741824: it must be even and at most the head size, 8"),
        ("rope-max", "llama.rope.dimension_count", GgufValue.Of(int.MaxValue - 1u), "llama.rope.dimension_count is 2147483646: it must be even and at most the head size, 8"),
        ("head-size-zero", "llama.attention.head_count", GgufValue.Of(128u), "the head size is 0: llama.embedding_length 64 over llama.attention.head_count 128"),
        ("heads-wide", "llama.attention.key_length", GgufValue.Of(1u << 30), "the query heads together (llama.attention.head_count × head size) is 8589934592: it must be between 1 and 16777216"),
        ("epsilon-nan", "llama.attention.layer_norm_rms_epsilon", GgufValue.Of(float.NaN), "llama.attention.layer_norm_rms_epsilon is NaN: it must be a finite number"),
        ("epsilon-negative", "llama.attention.layer_norm_rms_epsilon", GgufValue.Of(-1e-5f), "llama.attention.layer_norm_rms_epsilon is -1E-05: it must not be negative"),
        ("rope-base-infinite", "llama.rope.freq_base", GgufValue.Of(float.PositiveInfinity), "llama.rope.freq_base is Infinity: it must be a finite number"),
        ("rope-base-zero", "llama.rope.freq_base", GgufValue.Of(0f), "llama.rope.freq_base is 0: it must be positive"),
        ("rope-scale-nan", "llama.rope.scale_linear", GgufValue.Of(float.NaN), "llama.rope.scale_linear is NaN: it must be a finite number"),
        ("ffn-huge", "llama.feed_forward_length", GgufValue.Of(1u << 25), "llama.feed_forward_length is 33554432: it must be between 1 and 16777216"),
        ("blocks-huge", "llama.block_count", GgufValue.Of(1u << 20), "llama.block_count is 1048576: at most 65536 blocks are supported"),
    ];

    /// <summary>The case names, for a theory's member data.</summary>
    public static IEnumerable<string> Names => Cases.Select(c => c.Name);

    public static (string Name, string Key, GgufValue Value, string Problem) Get(string name) => Cases.Single(c => c.Name == name);
}
