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
        new NormStep("attn_norm.weight", X, Xb),
        new ProjectStep("attn_q.weight", Xb, Q),
        new ProjectStep("attn_k.weight", Xb, K),
        new ProjectStep("attn_v.weight", Xb, V),
        new HeadNormStep("attn_q_norm.weight", Q),
        new HeadNormStep("attn_k_norm.weight", K),
        new AttendStep(),
        new ProjectStep("attn_output.weight", ActivationBuffer.Attention, Xb),
        new NormStep("post_attention_norm.weight", Xb, Xb),
        new ResidualStep(Xb),

        new NormStep("ffn_norm.weight", X, Xb),
        new ProjectStep("ffn_gate.weight", Xb, Gate),
        new ProjectStep("ffn_up.weight", Xb, Up),
        new GatedActivationStep(GateFunction.GeluTanh),
        new ProjectStep("ffn_down.weight", Gate, Xb),
        new NormStep("post_ffw_norm.weight", Xb, Xb),
        new ResidualStep(Xb),
    ],
    ScalesEmbedding: true,
    ScalesQueries: true,
    SlidingWindowPattern: 6,
    AttentionScaleRule: (embedding, heads, headDimension, blocks) =>
        1f / (float)Math.Sqrt(blocks == 62 ? embedding / heads : headDimension));
}
