using ModelGen.Kernels.Ops;
using static ModelGen.Runtime.Engine.ActivationBuffer;

namespace ModelGen.Runtime.Engine.Architectures;

/// <summary>
/// Qwen3's mixture-of-experts models (Qwen3-30B-A3B and kin): qwen3's attention with per-head query and key norms,
/// and a feed-forward of routed experts instead of one SwiGLU.
/// </summary>
internal static class Qwen3Moe
{
    public static ArchitectureRules Rules { get; } = new("qwen3moe", RopeStyle.NeoX,
    [
        .. Llama.Attention(biasesRequired: false, headNorms: true),
        new ResidualStep(Xb),

        new NormStep("ffn_norm.weight", X, Xb),
        new MixtureOfExpertsStep("ffn_gate_inp.weight", "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight"),
        new ResidualStep(Xb),
    ]);
}
