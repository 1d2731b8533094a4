using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels;

namespace ModelGen.Runtime.Engine;

/// <summary>One step of a block with what it reads from the file, bound once at load.</summary>
/// <param name="Step">The step of the architecture's recipe.</param>
/// <param name="Matrix">A projection's weights.</param>
/// <param name="Vector">A norm's weights, as floats.</param>
/// <param name="Bias">A projection's bias, when the file has it.</param>
/// <param name="Experts">A mixture's gate, up and down matrices, one per expert (its router is <paramref name="Matrix"/>).</param>
public readonly record struct BoundStep(BlockStep Step, WeightMatrix Matrix = default, float[]? Vector = null, float[]? Bias = null,
    WeightMatrix[][]? Experts = null);

/// <summary>
/// Every tensor the forward pass reads, bound by name from a memory-mapped GGUF file with its shape and type checked
/// once here. Matrices stay in the map; norm and bias vectors are copied out as floats.
/// </summary>
public sealed class ModelWeights
{
    public required WeightMatrix TokenEmbedding { get; init; }
    /// <summary>Each block's steps, with their weights.</summary>
    public required IReadOnlyList<BoundStep[]> Layers { get; init; }
    public required float[] OutputNorm { get; init; }

    /// <summary>The output projection: <c>output.weight</c>, or the token embedding when the file ties them.</summary>
    public required WeightMatrix Output { get; init; }

    public bool TiedEmbeddings { get; init; }

    /// <summary>LongRoPE's frequency factors, when the file has them: for a context past the original one, and within it.</summary>
    public (float[]? Long, float[]? Short) RopeFactors { get; init; }

    /// <summary>
    /// Binds the tensors of <paramref name="file"/> for <paramref name="config"/>, after checking each against its
    /// role (<see cref="ModelTensors"/>): the first that is missing, mis-shaped or in a format the kernels cannot use
    /// is named in an <see cref="UnsupportedModelException"/>.
    /// </summary>
    public static unsafe ModelWeights Bind(GgufFile file, ModelConfig config)
    {
        var source = Path.GetFileName(file.Path);
        bool tied = file.FindTensor(ModelTensors.Output) is null;
        foreach (var role in ModelTensors.Roles(config, tied))
        {
            var t = file.FindTensor(role.Name);
            if (ModelTensors.Check(role, t?.Type, t?.Shape, config.Architecture, WeightFormats.IsSupported) is { } problem)
            {
                throw new UnsupportedModelException(source, problem.Message);
            }
        }

        WeightMatrix Matrix(string name)
        {
            var t = file.FindTensor(name)!;
            return new WeightMatrix(t.Type, file.GetDataPointer(t), t.ByteLength, (int)t.Shape[1], (int)t.Shape[0]);
        }

        // A 3-D tensor [columns, rows, experts]: one matrix per expert, back to back.
        WeightMatrix[] PerExpert(string name)
        {
            var t = file.FindTensor(name)!;
            int columns = (int)t.Shape[0], rows = (int)t.Shape[1];
            long bytes = t.Type.Info().RowBytes(columns) * rows;
            return Enumerable.Range(0, (int)t.Shape[2])
                .Select(e => new WeightMatrix(t.Type, file.GetDataPointer(t) + e * bytes, bytes, rows, columns))
                .ToArray();
        }

        float[]? Optional(string name) => file.FindTensor(name) is { } t ? ToFloats(t, file.GetData(t)) : null;

        float[] Vector(string name) => Optional(name)!;

        var layers = new BoundStep[config.LayerCount][];
        for (int i = 0; i < layers.Length; i++)
        {
            string Name(string tensor) => ModelTensors.InBlock(i, tensor);
            layers[i] = config.Rules.Block.Select(step => step switch
            {
                NormStep norm => new BoundStep(step, Vector: Vector(Name(norm.Weight))),
                HeadNormStep norm => new BoundStep(step, Vector: Vector(Name(norm.Weight))),
                ProjectStep project => new BoundStep(step, Matrix(Name(project.Weight)), Bias: project.Bias is { } bias ? Optional(Name(bias)) : null),
                MixtureOfExpertsStep moe => new BoundStep(step, Matrix(Name(moe.Router)),
                    Experts: [PerExpert(Name(moe.Gates)), PerExpert(Name(moe.Ups)), PerExpert(Name(moe.Downs))]),
                _ => new BoundStep(step),
            }).ToArray();
        }

        var embedding = Matrix(ModelTensors.TokenEmbedding);
        return new ModelWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector(ModelTensors.OutputNorm),
            Output = tied ? embedding : Matrix(ModelTensors.Output),
            TiedEmbeddings = tied,
            RopeFactors = (Optional(ModelTensors.RopeFactorsLong), Optional(ModelTensors.RopeFactorsShort)),
        };
    }

    /// <summary>LongRoPE's frequency factors of <paramref name="file"/>, when it has them: see <see cref="RopeFactors"/>.</summary>
    public static (float[]? Long, float[]? Short) ReadRopeFactors(GgufFile file)
    {
        float[]? Read(string name) => file.FindTensor(name) is { } t ? ToFloats(t, file.GetData(t)) : null;
        return (Read(ModelTensors.RopeFactorsLong), Read(ModelTensors.RopeFactorsShort));
    }

    /// <summary>A norm or bias vector as floats; its role allows only f32 and f16.</summary>
    private static float[] ToFloats(GgufTensorInfo t, ReadOnlySpan<byte> data)
    {
        var values = new float[t.ElementCount];
        if (t.Type == GgmlType.F32)
        {
            MemoryMarshal.Cast<byte, float>(data).CopyTo(values);
        }
        else
        {
            var halves = MemoryMarshal.Cast<byte, Half>(data);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)halves[i];
            }
        }

        return values;
    }
}
