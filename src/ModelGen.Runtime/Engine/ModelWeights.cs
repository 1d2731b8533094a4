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

    /// <summary>Binds the tensors of <paramref name="file"/> for <paramref name="config"/>.</summary>
    public static unsafe ModelWeights Bind(GgufFile file, ModelConfig config)
    {
        var source = Path.GetFileName(file.Path);
        int dim = config.EmbeddingLength, q = config.QueryLength, kv = config.KvLength, ffn = config.FeedForwardLength;

        GgufTensorInfo Find(string name) =>
            file.FindTensor(name) ?? throw new UnsupportedModelException($"{source}: missing tensor '{name}' ({config.Architecture} needs it)");

        void CheckShape(GgufTensorInfo t, params long[] expected)
        {
            if (!t.Shape.SequenceEqual(expected))
            {
                throw new UnsupportedModelException(
                    $"{source}: tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", expected)}]");
            }
        }

        WeightMatrix Matrix(string name, int columns, int rows, bool computed = true)
        {
            var t = Find(name);
            CheckShape(t, columns, rows);
            if (computed && !WeightFormats.IsSupported(t.Type))
            {
                throw new UnsupportedModelException($"{source}: tensor '{name}' has type {t.Type.Info().Name}, which the engine cannot compute");
            }

            return new WeightMatrix(t.Type, file.GetDataPointer(t), t.ByteLength, rows, columns);
        }

        float[] Vector(string name, int length)
        {
            var t = Find(name);
            CheckShape(t, length);
            return ToFloats(t, file.GetData(t), source);
        }

        float[]? Optional(string name, int length) => file.FindTensor(name) is null ? null : Vector(name, length);

        var layers = new LayerWeights[config.LayerCount];
        for (int i = 0; i < layers.Length; i++)
        {
            var p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttentionNorm = Vector(p + "attn_norm.weight", dim),
                Query = Matrix(p + "attn_q.weight", dim, q),
                Key = Matrix(p + "attn_k.weight", dim, kv),
                Value = Matrix(p + "attn_v.weight", dim, kv),
                Output = Matrix(p + "attn_output.weight", q, dim),
                QueryBias = config.Architecture == "qwen2" ? Vector(p + "attn_q.bias", q) : Optional(p + "attn_q.bias", q),
                KeyBias = config.Architecture == "qwen2" ? Vector(p + "attn_k.bias", kv) : Optional(p + "attn_k.bias", kv),
                ValueBias = config.Architecture == "qwen2" ? Vector(p + "attn_v.bias", kv) : Optional(p + "attn_v.bias", kv),
                QueryNorm = config.Architecture == "qwen3" ? Vector(p + "attn_q_norm.weight", config.HeadDimension) : null,
                KeyNorm = config.Architecture == "qwen3" ? Vector(p + "attn_k_norm.weight", config.HeadDimension) : null,
                FeedForwardNorm = Vector(p + "ffn_norm.weight", dim),
                Gate = Matrix(p + "ffn_gate.weight", dim, ffn),
                Up = Matrix(p + "ffn_up.weight", dim, ffn),
                Down = Matrix(p + "ffn_down.weight", ffn, dim),
            };
        }

        // The embedding is only looked up row by row (dequantized), so any format with a dequantizer works.
        var embedding = Matrix("token_embd.weight", dim, config.VocabularySize, computed: false);
        bool tied = file.FindTensor("output.weight") is null;
        if (tied && !WeightFormats.IsSupported(embedding.Type))
        {
            throw new UnsupportedModelException($"{source}: tied output uses token_embd.weight of type {embedding.Type.Info().Name}, which the engine cannot compute");
        }

        return new ModelWeights
        {
            TokenEmbedding = embedding,
            Layers = layers,
            OutputNorm = Vector("output_norm.weight", dim),
            Output = tied ? embedding : Matrix("output.weight", dim, config.VocabularySize),
            TiedEmbeddings = tied,
        };
    }

    private static float[] ToFloats(GgufTensorInfo t, ReadOnlySpan<byte> data, string source)
    {
        var values = new float[t.ElementCount];
        switch (t.Type)
        {
            case GgmlType.F32:
                MemoryMarshal.Cast<byte, float>(data).CopyTo(values);
                break;
            case GgmlType.F16:
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (float)MemoryMarshal.Cast<byte, Half>(data)[i];
                }

                break;
            default:
                throw new UnsupportedModelException($"{source}: tensor '{t.Name}' is {t.Type.Info().Name}; norms and biases must be f32 or f16");
        }

        return values;
    }
}
