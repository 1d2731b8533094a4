namespace ModelGen.Runtime.Synthesis;

/// <summary>The hyper-parameters of a transformer of realistic shape, for models with random weights.</summary>
/// <param name="Name">The shape's name on the command line.</param>
/// <param name="EmbeddingLength">Model width.</param>
/// <param name="BlockCount">Transformer blocks.</param>
/// <param name="HeadCount">Query heads.</param>
/// <param name="KvHeadCount">Key/value heads (grouped-query attention when fewer than query heads).</param>
/// <param name="FeedForwardLength">Hidden width of the SwiGLU feed-forward.</param>
/// <param name="ContextLength">Trained context length written to the file.</param>
public sealed record ModelShape(string Name, int EmbeddingLength, int BlockCount, int HeadCount, int KvHeadCount,
    int FeedForwardLength, int ContextLength)
{
    public int HeadDimension => EmbeddingLength / HeadCount;

    /// <summary>The micro models of the reference set (dim 64, 5 blocks, 8 heads, 4 KV heads, FFN 192).</summary>
    public static ModelShape Micro { get; } = new("micro", 64, 5, 8, 4, 192, 512);

    /// <summary>SmolLM-135M's shape.</summary>
    public static ModelShape Smol135M { get; } = new("smol-135m", 576, 30, 9, 3, 1536, 2048);

    /// <summary>TinyLlama-1.1B's shape.</summary>
    public static ModelShape TinyLlama1_1B { get; } = new("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 2048);

    /// <summary>Llama-2-7B's shape.</summary>
    public static ModelShape Llama7B { get; } = new("llama-7b", 4096, 32, 32, 32, 11008, 4096);

    /// <summary>The shipped default model: small enough to live in git.</summary>
    public static ModelShape Tiny { get; } = new("tiny", 64, 2, 4, 2, 192, 512);

    public static IReadOnlyList<ModelShape> All { get; } = [Micro, Smol135M, TinyLlama1_1B, Llama7B, Tiny];

    public static ModelShape Parse(string name) =>
        All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown shape '{name}'; known: {string.Join(", ", All.Select(s => s.Name))}");
}
