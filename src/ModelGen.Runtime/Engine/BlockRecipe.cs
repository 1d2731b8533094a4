using ModelGen.Kernels.Ops;

namespace ModelGen.Runtime.Engine;

/// <summary>The activation rows a block step reads or writes: each holds one row per token of the batch.</summary>
public enum ActivationBuffer
{
    /// <summary>The residual stream, <c>EmbeddingLength</c> wide.</summary>
    X,

    /// <summary>A normalised copy of the stream, or a sublayer's output on its way back to it; <c>EmbeddingLength</c> wide.</summary>
    Xb,

    /// <summary>Queries, <c>QueryLength</c> wide.</summary>
    Q,

    /// <summary>Keys, <c>KvLength</c> wide.</summary>
    K,

    /// <summary>Values, <c>KvLength</c> wide.</summary>
    V,

    /// <summary>The attention heads' output, <c>QueryLength</c> wide.</summary>
    Attention,

    /// <summary>The feed-forward gate, then the gated activation; <c>FeedForwardLength</c> wide.</summary>
    Gate,

    /// <summary>The feed-forward up projection, <c>FeedForwardLength</c> wide.</summary>
    Up,

    /// <summary>Queries, keys and values from one fused projection (phi3), <c>QueryLength + 2 KvLength</c> wide.</summary>
    Qkv,

    /// <summary>Gate and up from one fused projection (phi3), <c>2 FeedForwardLength</c> wide.</summary>
    GateUp,
}

/// <summary>The nonlinearity of a gated feed-forward: <c>gate = f(gate) * up</c>.</summary>
public enum GateFunction
{
    /// <summary>SiLU, as SwiGLU (llama, qwen).</summary>
    Silu,

    /// <summary>GELU's tanh approximation, as GeGLU (gemma), looked up from F16 as ggml does.</summary>
    GeluTanh,
}

/// <summary>
/// One operation of a transformer block. An architecture's block is a list of these (<see cref="ArchitectureRules"/>):
/// the generic engine runs the list (<see cref="Transformer"/>), the model compiler unrolls it into calls, and the
/// tensors a file must hold are read off it, so the three cannot disagree.
/// </summary>
public abstract record BlockStep;

/// <summary><c>To = RmsNorm(From) * Weight</c>, row by row.</summary>
public sealed record NormStep(string Weight, ActivationBuffer From, ActivationBuffer To) : BlockStep;

/// <summary>RMS norm of each head of <paramref name="Target"/> (queries or keys), in place, with one weight per head dimension.</summary>
public sealed record HeadNormStep(string Weight, ActivationBuffer Target) : BlockStep;

/// <summary><c>To = Weight · From (+ Bias)</c> for each row.</summary>
/// <param name="Weight">The matrix, <c>[width(From), width(To)]</c>.</param>
/// <param name="From">The rows it multiplies.</param>
/// <param name="To">The rows it writes.</param>
/// <param name="Bias">A bias vector the file may have, <c>[width(To)]</c>; null when the architecture has none.</param>
/// <param name="BiasRequired">Whether a file must have <paramref name="Bias"/> (qwen2), or may (llama).</param>
public sealed record ProjectStep(string Weight, ActivationBuffer From, ActivationBuffer To, string? Bias = null, bool BiasRequired = false) : BlockStep;

/// <summary>
/// Self-attention: rotate <see cref="ActivationBuffer.Q"/> and <see cref="ActivationBuffer.K"/> by position, cache
/// keys and values, and attend, into <see cref="ActivationBuffer.Attention"/>.
/// </summary>
public sealed record AttendStep : BlockStep;

/// <summary>
/// Copies each row of <paramref name="From"/>, a fused projection's output, into the rows of <paramref name="To"/>:
/// the first <c>width(To[0])</c> columns to <c>To[0]</c>, the next to <c>To[1]</c>, and so on.
/// </summary>
public sealed record SplitStep(ActivationBuffer From, IReadOnlyList<ActivationBuffer> To) : BlockStep;

/// <summary>
/// A mixture-of-experts feed-forward from <see cref="ActivationBuffer.Xb"/> back into it: a router
/// (<paramref name="Router"/>, <c>[width, experts]</c>) and softmax choose each token's top <c>ExpertsUsed</c>
/// experts, whose weights are normalised to sum to 1; each chosen expert runs a SwiGLU feed-forward (3-D tensors
/// <paramref name="Gates"/>, <paramref name="Ups"/>, <paramref name="Downs"/>, one matrix per expert), and the
/// weighted outputs are summed, as llama.cpp's <c>build_moe_ffn</c> (run by <c>MixtureOfExperts</c>).
/// </summary>
public sealed record MixtureOfExpertsStep(string Router, string Gates, string Ups, string Downs) : BlockStep;

/// <summary><c>X += From</c>: a sublayer's output joins the residual stream.</summary>
public sealed record ResidualStep(ActivationBuffer From) : BlockStep;

/// <summary><c>Gate = f(Gate) * Up</c>.</summary>
public sealed record GatedActivationStep(GateFunction Function) : BlockStep;

/// <summary>
/// What makes one architecture: how it rotates, its block as a list of steps, and the few switches around them.
/// Everything else (hyper-parameter checks, embedding, output norm and projection) is shared.
/// </summary>
/// <param name="Name">Its <c>general.architecture</c>.</param>
/// <param name="RopeStyle">Which dimensions rotary embedding pairs.</param>
/// <param name="Block">The steps of every block, in order; block tensors are named without their <c>blk.N.</c> prefix.</param>
/// <param name="ScalesEmbedding">Whether token embeddings are multiplied by √width.</param>
/// <param name="ScalesQueries">
/// Whether the attention scale multiplies the rotated queries (the scores then are not scaled), rather than the scores.
/// </param>
/// <param name="SlidingWindowPattern">
/// When the file gives <c>attention.sliding_window</c>: the default period of global blocks (see
/// <see cref="ModelConfig.IsSlidingWindowBlock"/>); 0 when the architecture has no sliding window.
/// </param>
/// <param name="AttentionScaleRule">
/// The attention scale from (width, heads, head size, blocks), when it is not 1/√head size.
/// </param>
/// <param name="RopeFactors">
/// Whether a file may carry LongRoPE's frequency factors (<see cref="ModelTensors.RopeFactorsLong"/> and
/// <see cref="ModelTensors.RopeFactorsShort"/>).
/// </param>
public sealed record ArchitectureRules(string Name, RopeStyle RopeStyle, IReadOnlyList<BlockStep> Block,
    bool ScalesEmbedding = false, bool ScalesQueries = false, int SlidingWindowPattern = 0,
    Func<int, int, int, int, float>? AttentionScaleRule = null, bool RopeFactors = false)
{

    /// <summary>The attention scale of a model of these dimensions.</summary>
    public float AttentionScale(int embedding, int heads, int headDimension, int blocks) =>
        AttentionScaleRule?.Invoke(embedding, heads, headDimension, blocks) ?? 1f / (float)Math.Sqrt(headDimension);

    /// <summary>The width of a buffer's rows under <paramref name="config"/>.</summary>
    public static int Width(ActivationBuffer buffer, ModelConfig config) => buffer switch
    {
        ActivationBuffer.X or ActivationBuffer.Xb => config.EmbeddingLength,
        ActivationBuffer.Q or ActivationBuffer.Attention => config.QueryLength,
        ActivationBuffer.K or ActivationBuffer.V => config.KvLength,
        ActivationBuffer.Qkv => config.QueryLength + 2 * config.KvLength,
        ActivationBuffer.GateUp => 2 * config.FeedForwardLength,
        _ => config.FeedForwardLength,
    };

    /// <summary>Whether the block has a mixture-of-experts feed-forward.</summary>
    public bool HasExperts => Block.Any(step => step is MixtureOfExpertsStep);

    /// <summary>Whether a step of the block writes or reads <paramref name="buffer"/>: the fused buffers exist only where used.</summary>
    public bool Uses(ActivationBuffer buffer) =>
        Block.Any(step => step is ProjectStep p && (p.To == buffer || p.From == buffer) || step is SplitStep s && s.From == buffer);
}
