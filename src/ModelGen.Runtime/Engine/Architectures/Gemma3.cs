using ModelGen.Kernels.Ops;
using static ModelGen.Runtime.Engine.ActivationBuffer;

namespace ModelGen.Runtime.Engine.Architectures;

/// <summary>
/// Gemma 3 (270M to 27B), as llama.cpp runs it: embeddings scaled by √width; norms before and after both attention
/// and the feed-forward; per-head query and key norms; queries scaled before attention (by 1/√head size, or
/// 1/√(width/heads) for the 62-block 27B); a GELU-gated feed-forward; five of every six blocks attending within a
/// sliding window with their own rotary base; the output tied to the embedding when the file has no output matrix.
/// </summary>
internal static class Gemma3
{
    public static ArchitectureRules Rules { get; } = new("gemma3", RopeStyle.NeoX,
    [
        .. Llama.Attention(biasesRequired: false, headNorms: true),
        new NormStep("post_attention_norm.weight", Xb, Xb),
        new ResidualStep(Xb),

        .. Llama.GatedFeedForward(GateFunction.GeluTanh),
        new NormStep("post_ffw_norm.weight", Xb, Xb),
        new ResidualStep(Xb),
    ],
    ScalesEmbedding: true,
    ScalesQueries: true,
    SlidingWindowPattern: 6,
    AttentionScaleRule: (embedding, heads, headDimension, blocks) =>
        1f / (float)Math.Sqrt(blocks == 62 ? embedding / heads : headDimension));
}
