using ModelGen.Kernels.Ops;
using static ModelGen.Runtime.Engine.ActivationBuffer;

namespace ModelGen.Runtime.Engine.Architectures;

/// <summary>
/// Phi-3 and Phi-4-mini, as llama.cpp runs them: llama's block with queries, keys and values from one fused matrix
/// (<c>attn_qkv</c>), gate and up from another (<c>ffn_up</c>, gate first), NeoX rotation, and queries scaled by
/// 1/√head size before attention; LongRoPE's frequency factors and magnitude where the file has them (Phi-3 128k,
/// Phi-4-mini), long or short by the context asked for.
/// </summary>
internal static class Phi3
{
    public static ArchitectureRules Rules { get; } = new("phi3", RopeStyle.NeoX,
    [
        new NormStep("attn_norm.weight", X, Xb),
        new ProjectStep("attn_qkv.weight", Xb, Qkv),
        new SplitStep(Qkv, [Q, K, V]),
        new AttendStep(),
        new ProjectStep("attn_output.weight", ActivationBuffer.Attention, Xb),
        new ResidualStep(Xb),

        new NormStep("ffn_norm.weight", X, Xb),
        new ProjectStep("ffn_up.weight", Xb, GateUp),
        new SplitStep(GateUp, [Gate, Up]),
        new GatedActivationStep(GateFunction.Silu),
        new ProjectStep("ffn_down.weight", Gate, Xb),
        new ResidualStep(Xb),
    ],
    ScalesQueries: true,
    RopeFactors: true);
}
