using ModelGen.Kernels.Ops;
using static ModelGen.Runtime.Engine.ActivationBuffer;

namespace ModelGen.Runtime.Engine.Architectures;

/// <summary>
/// Llama and the architectures that differ from it only in details: qwen2 (attention biases always present) and
/// qwen3 (per-head query and key norms), both rotating NeoX-style. The block is llama2.c's: a pre-norm attention and a
/// pre-norm SwiGLU feed-forward, each added back to the residual stream.
/// </summary>
internal static class Llama
{
    public static ArchitectureRules Rules { get; } = new("llama", RopeStyle.Normal, Block(biasesRequired: false, headNorms: false));

    public static ArchitectureRules Qwen2 { get; } = new("qwen2", RopeStyle.NeoX, Block(biasesRequired: true, headNorms: false));

    public static ArchitectureRules Qwen3 { get; } = new("qwen3", RopeStyle.NeoX, Block(biasesRequired: false, headNorms: true));

    /// <summary>The llama block; attention biases are optional unless <paramref name="biasesRequired"/> (llama.cpp loads them when present).</summary>
    private static BlockStep[] Block(bool biasesRequired, bool headNorms) =>
    [
        .. Attention(biasesRequired, headNorms),
        new ResidualStep(Xb),
        .. GatedFeedForward(GateFunction.Silu),
        new ResidualStep(Xb),
    ];

    /// <summary>
    /// The pre-norm attention sublayer, into <see cref="ActivationBuffer.Xb"/>: norm, query, key and value projections
    /// (with their biases, when the file has them or <paramref name="biasesRequired"/>), per-head query and key norms
    /// when <paramref name="headNorms"/>, attention, output projection. Shared by the architectures built on it.
    /// </summary>
    internal static BlockStep[] Attention(bool biasesRequired, bool headNorms) =>
    [
        new NormStep("attn_norm.weight", X, Xb),
        new ProjectStep("attn_q.weight", Xb, Q, "attn_q.bias", biasesRequired),
        new ProjectStep("attn_k.weight", Xb, K, "attn_k.bias", biasesRequired),
        new ProjectStep("attn_v.weight", Xb, V, "attn_v.bias", biasesRequired),
        .. headNorms ? [new HeadNormStep("attn_q_norm.weight", Q), new HeadNormStep("attn_k_norm.weight", K)] : Array.Empty<BlockStep>(),
        new AttendStep(),
        new ProjectStep("attn_output.weight", ActivationBuffer.Attention, Xb),
    ];

    /// <summary>The pre-norm gated feed-forward sublayer, into <see cref="ActivationBuffer.Xb"/>: norm, gate and up, <paramref name="function"/>, down.</summary>
    internal static BlockStep[] GatedFeedForward(GateFunction function) =>
    [
        new NormStep("ffn_norm.weight", X, Xb),
        new ProjectStep("ffn_gate.weight", Xb, Gate),
        new ProjectStep("ffn_up.weight", Xb, Up),
        new GatedActivationStep(function),
        new ProjectStep("ffn_down.weight", Gate, Xb),
    ];
}
