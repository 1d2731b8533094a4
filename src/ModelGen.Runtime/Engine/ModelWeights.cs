using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels;

namespace ModelGen.Runtime.Engine;

/// <summary>The weights of one transformer block.</summary>
public sealed class LayerWeights
{
    public required float[] AttentionNorm { get; init; }
    public required WeightMatrix Query { get; init; }
    public required WeightMatrix Key { get; init; }
    public required WeightMatrix Value { get; init; }
    public required WeightMatrix Output { get; init; }

    /// <summary>qwen2's attention biases; null elsewhere.</summary>
    public float[]? QueryBias { get; init; }
    public float[]? KeyBias { get; init; }
    public float[]? ValueBias { get; init; }

    /// <summary>qwen3's per-head RMS norms of queries and keys; null elsewhere.</summary>
    public float[]? QueryNorm { get; init; }
    public float[]? KeyNorm { get; init; }

    public required float[] FeedForwardNorm { get; init; }
    public required WeightMatrix Gate { get; init; }
    public required WeightMatrix Up { get; init; }
    public required WeightMatrix Down { get; init; }
}

/// <summary>
/// Every tensor the forward pass reads, bound by name from a memory-mapped GGUF file with its shape and type checked
/// once here. Matrices stay in the map; norm and bias vectors are copied out as floats.
/// </summary>
public sealed class ModelWeights
{
    public required WeightMatrix TokenEmbedding { get; init; }
    public required IReadOnlyList<LayerWeights> Layers { get; init; }
    public required float[] OutputNorm { get; init; }

    /// <summary>The output projection: <c>output.weight</c>, or the token embedding when the file ties them.</summary>
    public required WeightMatrix Output { get; init; }

    public bool TiedEmbeddings { get; init; }

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

        float[]? Optional(string name) => file.FindTensor(name) is { } t ? ToFloats(t, file.GetData(t)) : null;

        float[] Vector(string name) => Optional(name)!;

        var layers = new LayerWeights[config.LayerCount];
        for (int i = 0; i < layers.Length; i++)
        {
            string Name(string tensor) => ModelTensors.InBlock(i, tensor);
            layers[i] = new LayerWeights
            {
                AttentionNorm = Vector(Name("attn_norm.weight")),
                Query = Matrix(Name("attn_q.weight")),
                Key = Matrix(Name("attn_k.weight")),
                Value = Matrix(Name("attn_v.weight")),
                Output = Matrix(Name("attn_output.weight")),
                QueryBias = Optional(Name("attn_q.bias")),
                KeyBias = Optional(Name("attn_k.bias")),
                ValueBias = Optional(Name("attn_v.bias")),
                QueryNorm = config.Architecture == "qwen3" ? Vector(Name("attn_q_norm.weight")) : null,
                KeyNorm = config.Architecture == "qwen3" ? Vector(Name("attn_k_norm.weight")) : null,
                FeedForwardNorm = Vector(Name("ffn_norm.weight")),
                Gate = Matrix(Name("ffn_gate.weight")),
                Up = Matrix(Name("ffn_up.weight")),
                Down = Matrix(Name("ffn_down.weight")),
            };
        }

        var embedding = Matrix(ModelTensors.TokenEmbedding);
        return new ModelWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector(ModelTensors.OutputNorm),
            Output = tied ? embedding : Matrix(ModelTensors.Output),
            TiedEmbeddings = tied,
        };
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
