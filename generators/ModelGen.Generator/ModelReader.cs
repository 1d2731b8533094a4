using System.Globalization;
using System.Security.Cryptography;
using ModelGen.Gguf;

namespace ModelGen.Generator;

/// <summary>
/// Reads a GGUF header into a <see cref="ModelSpec"/>, checking what the emitted code will take for granted: the
/// architecture, the hyper-parameters, and every tensor's presence, type and shape. Reads only the header, never the
/// weights, with the same rules as the generic engine's <c>ModelConfig</c> and <c>ModelWeights</c>.
/// </summary>
internal static class ModelReader
{
    public static readonly string[] SupportedArchitectures = ["llama", "qwen2", "qwen3"];

    public static ModelSpecResult Read(ModelFile file, Stream stream)
    {
        var source = System.IO.Path.GetFileName(file.Path);
        GgufHeader header;
        string fingerprint;
        try
        {
            header = GgufReader.ReadHeader(stream, file.Path, GgufReadOptions.HeaderOnly);
            fingerprint = Fingerprint(stream, header.DataOffset);
        }
        catch (Exception e) when (e is GgufFormatException or IOException)
        {
            return Fail(Diagnostics.UnreadableFile, file, source, e.Message);
        }

        try
        {
            return new ModelSpecResult(Build(file, source, header, fingerprint), null);
        }
        catch (SpecException e)
        {
            return new ModelSpecResult(null, e.Diagnostic);
        }
        catch (GgufFormatException e)
        {
            // A metadata value of the wrong type, found while reading a hyper-parameter.
            return Fail(Diagnostics.InvalidHyperParameters, file, source, e.Message);
        }
    }

    private static ModelSpecResult Fail(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, ModelFile file, params string[] arguments) =>
        new(null, DiagnosticInfo.Create(descriptor, file.Path, arguments));

    private static ModelSpec Build(ModelFile file, string source, GgufHeader header, string fingerprint)
    {
        var md = header.Metadata;
        var arch = md.Architecture;
        if (arch is null || Array.IndexOf(SupportedArchitectures, arch) < 0)
        {
            throw new SpecException(Diagnostics.UnsupportedArchitecture, file, source, arch ?? "(no general.architecture)", string.Join(", ", SupportedArchitectures));
        }

        int Int(string key, int? fallback = null)
        {
            var full = arch + "." + key;
            if (!md.TryGetValue(full, out var value))
            {
                return fallback ?? throw Invalid($"missing hyper-parameter {full}");
            }

            if (value.AsArray() is not null)
            {
                throw Invalid($"{full} varies per layer, which ModelGen does not support");
            }

            return (int)md.GetInteger(full, 1, int.MaxValue);
        }

        float Float(string key, float fallback) => md.TryGetSingle(arch + "." + key) ?? fallback;

        SpecException Invalid(string message) => new(Diagnostics.InvalidHyperParameters, file, source, message);

        int embedding = Int("embedding_length");
        int heads = Int("attention.head_count");
        int headDim = Int("attention.key_length", embedding / heads);
        if (Int("attention.value_length", headDim) != headDim)
        {
            throw Invalid("key and value heads of different sizes are not supported");
        }

        int kvHeads = Int("attention.head_count_kv", heads);
        if (heads % kvHeads != 0)
        {
            throw Invalid($"{heads} query heads cannot share {kvHeads} key/value heads evenly");
        }

        float scale = 1f;
        var scalingType = md.TryGetString(arch + ".rope.scaling.type");
        if (scalingType is "linear" || (scalingType is null && md.ContainsKey(arch + ".rope.scale_linear")))
        {
            float factor = md.TryGetSingle(arch + ".rope.scaling.factor") ?? md.TryGetSingle(arch + ".rope.scale_linear") ?? 1f;
            scale = factor > 0 ? 1f / factor : 1f;
        }
        else if (scalingType is not (null or "none"))
        {
            throw Invalid($"rope scaling '{scalingType}' is not supported (none or linear)");
        }

        int vocabulary = md.TryGetValue("tokenizer.ggml.tokens", out var tokens) && tokens.AsArray() is { } t
            ? (int)t.Count
            : Int("vocab_size");

        var spec = new ModelSpec
        {
            ClassName = file.ClassName,
            Namespace = file.Namespace,
            SourceFileName = source,
            Fingerprint = fingerprint,
            Architecture = arch,
            ModelName = md.TryGetString("general.name") ?? System.IO.Path.GetFileNameWithoutExtension(source),
            EmbeddingLength = embedding,
            LayerCount = Int("block_count"),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDimension = headDim,
            FeedForwardLength = Int("feed_forward_length"),
            VocabularySize = vocabulary,
            ContextLength = Int("context_length"),
            RmsEpsilon = Float("attention.layer_norm_rms_epsilon", 1e-5f),
            RopeBase = Float("rope.freq_base", 10000f),
            RopeFrequencyScale = scale,
            RopeDimensions = Int("rope.dimension_count", headDim),
            RopeNeoX = arch != "llama",
            Tensors = new EquatableArray<TensorSpec>(header.Tensors
                .Select(x => new TensorSpec(x.Name, x.Type, new EquatableArray<long>(x.Shape.ToArray()), x.Offset))
                .ToArray()),
        };

        CheckTensors(spec, file, source);
        return spec;
    }

    /// <summary>Every tensor the forward pass reads: present, of the expected shape, in a format the kernels compute.</summary>
    private static void CheckTensors(ModelSpec spec, ModelFile file, string source)
    {
        int dim = spec.EmbeddingLength, q = spec.QueryLength, kv = spec.KvLength, ffn = spec.FeedForwardLength;

        TensorSpec Find(string name) =>
            spec.Find(name) ?? throw new SpecException(Diagnostics.MissingTensor, file, source, name, spec.Architecture);

        void Shape(TensorSpec t, params long[] expected)
        {
            if (!t.Shape.AsSpan().SequenceEqual(expected))
            {
                throw new SpecException(Diagnostics.InconsistentShape, file, source, t.Name, string.Join(", ", t.Shape), string.Join(", ", expected));
            }
        }

        void Matrix(string name, int columns, int rows, bool computed = true)
        {
            var t = Find(name);
            Shape(t, columns, rows);
            if (!WeightFormatTable.IsWeightFormat(t.Type))
            {
                throw new SpecException(Diagnostics.UnsupportedTensorType, file, source, name, t.Type.Info().Name,
                    computed ? "the kernels cannot multiply" : "the kernels cannot dequantize");
            }
        }

        void Vector(string name, int length, bool required = true)
        {
            var t = spec.Find(name);
            if (t is null && !required)
            {
                return;
            }

            t ??= Find(name);
            Shape(t, length);
            if (t.Type is not (GgmlType.F32 or GgmlType.F16))
            {
                throw new SpecException(Diagnostics.UnsupportedTensorType, file, source, name, t.Type.Info().Name, "norms and biases must be f32 or f16");
            }
        }

        for (int i = 0; i < spec.LayerCount; i++)
        {
            var p = $"blk.{i}.";
            Vector(p + "attn_norm.weight", dim);
            Matrix(p + "attn_q.weight", dim, q);
            Matrix(p + "attn_k.weight", dim, kv);
            Matrix(p + "attn_v.weight", dim, kv);
            Matrix(p + "attn_output.weight", q, dim);
            bool biases = spec.Architecture == "qwen2";
            Vector(p + "attn_q.bias", q, biases);
            Vector(p + "attn_k.bias", kv, biases);
            Vector(p + "attn_v.bias", kv, biases);
            if (spec.Architecture == "qwen3")
            {
                Vector(p + "attn_q_norm.weight", spec.HeadDimension);
                Vector(p + "attn_k_norm.weight", spec.HeadDimension);
            }

            Vector(p + "ffn_norm.weight", dim);
            Matrix(p + "ffn_gate.weight", dim, ffn);
            Matrix(p + "ffn_up.weight", dim, ffn);
            Matrix(p + "ffn_down.weight", ffn, dim);
        }

        bool tied = spec.Find("output.weight") is null;
        Matrix("token_embd.weight", dim, spec.VocabularySize, computed: tied);
        Vector("output_norm.weight", dim);
        if (!tied)
        {
            Matrix("output.weight", dim, spec.VocabularySize);
        }
    }

    /// <summary>SHA-256 of the header (every byte before the tensor data): changes with any metadata or tensor-table change.</summary>
    private static string Fingerprint(Stream stream, long headerLength)
    {
        stream.Position = 0;
        using var sha = SHA256.Create();
        var buffer = new byte[1 << 16];
        for (long left = headerLength; left > 0;)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read <= 0)
            {
                throw new IOException("the file ended inside its header");
            }

            sha.TransformBlock(buffer, 0, read, null, 0);
            left -= read;
        }

        sha.TransformFinalBlock(buffer, 0, 0);
        return string.Concat(sha.Hash!.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    private sealed class SpecException(Microsoft.CodeAnalysis.DiagnosticDescriptor descriptor, ModelFile file, params string[] arguments) : Exception
    {
        public DiagnosticInfo Diagnostic { get; } = DiagnosticInfo.Create(descriptor, file.Path, arguments);
    }
}
