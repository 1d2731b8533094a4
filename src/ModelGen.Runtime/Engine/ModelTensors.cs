using ModelGen.Gguf;

namespace ModelGen.Runtime.Engine;

/// <summary>How the forward pass reads a tensor, which decides the formats it may be stored in.</summary>
public enum TensorUse
{
    /// <summary>Multiplied by activations: a format the matrix kernels compute.</summary>
    Product,

    /// <summary>
    /// Only looked up, one row dequantized per token: the token embedding when the output projection has its own
    /// matrix. As llama.cpp, any format with a dequantizer will do.
    /// </summary>
    Lookup,

    /// <summary>A norm or bias vector, copied out as floats: f32 or f16.</summary>
    Vector,

}

/// <summary>What is wrong with a tensor: each is its own generator diagnostic.</summary>
public enum TensorProblemKind
{
    Missing,
    Shape,
    Format,
}

/// <summary>One tensor a model's forward pass reads: its name, its use, the shape the hyper-parameters give it.</summary>
/// <param name="Name">The GGUF tensor name.</param>
/// <param name="Use">How it is read.</param>
/// <param name="Shape">Its dimensions, innermost first.</param>
/// <param name="Required">False for a tensor the forward pass uses when the file has it.</param>
public sealed record TensorRole(string Name, TensorUse Use, long[] Shape, bool Required = true);

/// <summary>Why a file's tensor does not fit its role.</summary>
/// <param name="Kind">Which rule it breaks.</param>
/// <param name="Message">The problem without the file's name: <c>tensor 'x' is missing (llama needs it)</c>.</param>
public sealed record TensorProblem(TensorProblemKind Kind, string Message);

/// <summary>
/// The tensors a model reads, with their shapes, formats and whether they are required, from its architecture's
/// block recipe: the rules that bind a file's tensors, for the generic engine (<see cref="ModelWeights"/>) and, compiled into the
/// generator too, for the model compiler, so a file is refused at build time with the words it is refused at load.
/// </summary>
public static class ModelTensors
{
    public const string TokenEmbedding = "token_embd.weight";
    public const string OutputNorm = "output_norm.weight";
    public const string Output = "output.weight";

    /// <summary>LongRoPE's frequency factors for a context longer than the original one.</summary>
    public const string RopeFactorsLong = "rope_factors_long.weight";

    /// <summary>LongRoPE's frequency factors for the original context.</summary>
    public const string RopeFactorsShort = "rope_factors_short.weight";

    /// <summary>The name of a block's tensor: <c>blk.3.attn_q.weight</c> for block 3 and <c>attn_q.weight</c>.</summary>
    public static string InBlock(int block, string tensor) => $"blk.{block}.{tensor}";

    /// <summary>
    /// Every tensor the forward pass reads, blocks first: <paramref name="tied"/> when the file has no
    /// <see cref="Output"/>, so that the token embedding is also the output projection.
    /// </summary>
    public static IEnumerable<TensorRole> Roles(ModelConfig config, bool tied)
    {
        for (int i = 0; i < config.LayerCount; i++)
        {
            foreach (var role in BlockRoles(config, i))
            {
                yield return role;
            }
        }

        if (config.Rules.RopeFactors)
        {
            yield return new TensorRole(RopeFactorsLong, TensorUse.Vector, [config.RopeDimensions / 2], Required: false);
            yield return new TensorRole(RopeFactorsShort, TensorUse.Vector, [config.RopeDimensions / 2], Required: false);
        }

        long dim = config.EmbeddingLength, vocabulary = config.VocabularySize;
        yield return new TensorRole(TokenEmbedding, tied ? TensorUse.Product : TensorUse.Lookup, [dim, vocabulary]);
        yield return new TensorRole(OutputNorm, TensorUse.Vector, [dim]);
        if (!tied)
        {
            yield return new TensorRole(Output, TensorUse.Product, [dim, vocabulary]);
        }
    }

    /// <summary>
    /// The tensors of block <paramref name="block"/>, in the order its steps (<see cref="ArchitectureRules.Block"/>)
    /// read them: each step's weight, and a projection's bias, with the shapes the hyper-parameters give them.
    /// </summary>
    public static IEnumerable<TensorRole> BlockRoles(ModelConfig config, int block)
    {
        TensorRole Role(string tensor, TensorUse use, long[] shape, bool required = true) => new(InBlock(block, tensor), use, shape, required);
        long Width(ActivationBuffer buffer) => ArchitectureRules.Width(buffer, config);

        foreach (var step in config.Rules.Block)
        {
            switch (step)
            {
                case NormStep norm:
                    yield return Role(norm.Weight, TensorUse.Vector, [Width(norm.To)]);
                    break;
                case HeadNormStep norm:
                    yield return Role(norm.Weight, TensorUse.Vector, [config.HeadDimension]);
                    break;
                case MixtureOfExpertsStep moe:
                    long experts = config.ExpertCount, hidden = config.ExpertFeedForwardLength, dim = config.EmbeddingLength;
                    yield return Role(moe.Router, TensorUse.Product, [dim, experts]);
                    yield return Role(moe.Gates, TensorUse.Product, [dim, hidden, experts]);
                    yield return Role(moe.Ups, TensorUse.Product, [dim, hidden, experts]);
                    yield return Role(moe.Downs, TensorUse.Product, [hidden, dim, experts]);
                    break;
                case ProjectStep project:
                    yield return Role(project.Weight, TensorUse.Product, [Width(project.From), Width(project.To)]);
                    if (project.Bias is { } bias)
                    {
                        yield return Role(bias, TensorUse.Vector, [Width(project.To)], project.BiasRequired);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Checks a file's tensor (<paramref name="type"/> and <paramref name="shape"/>, both null when the file lacks it)
    /// against <paramref name="role"/>; null when it fits, or when an optional tensor is absent.
    /// <paramref name="hasKernels"/> says which formats the kernels multiply and dequantize.
    /// </summary>
    public static TensorProblem? Check(TensorRole role, GgmlType? type, IReadOnlyList<long>? shape, string architecture, Func<GgmlType, bool> hasKernels)
    {
        if (type is not { } format || shape is null)
        {
            return role.Required ? new TensorProblem(TensorProblemKind.Missing, $"tensor '{role.Name}' is missing ({architecture} needs it)") : null;
        }

        if (!shape.SequenceEqual(role.Shape))
        {
            return new TensorProblem(TensorProblemKind.Shape,
                $"tensor '{role.Name}' has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", role.Shape)}]");
        }

        string? refusal = role.Use switch
        {
            TensorUse.Product when !hasKernels(format) => "which the kernels cannot multiply",
            TensorUse.Lookup when !hasKernels(format) => "which the kernels cannot dequantize",
            TensorUse.Vector when format is not (GgmlType.F32 or GgmlType.F16) => "but norms and biases must be f32 or f16",
            _ => null,
        };
        return refusal is null ? null : new TensorProblem(TensorProblemKind.Format, $"tensor '{role.Name}' is {format.Info().Name}, {refusal}");
    }
}
