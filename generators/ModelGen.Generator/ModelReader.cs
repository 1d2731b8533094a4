using System.Globalization;
using System.Security.Cryptography;
using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

namespace ModelGen.Generator;

/// <summary>
/// Reads a GGUF header into a <see cref="ModelSpec"/>, checking what the emitted code will take for granted: the
/// architecture, the hyper-parameters, and every tensor's presence, type and shape. Reads only the header, never the
/// weights, with the same rules as the generic engine's <c>ModelConfig</c> and <c>ModelWeights</c>.
/// </summary>
internal static class ModelReader
{
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
        var arch = header.Metadata.Architecture;
        if (arch is null || !ModelConfig.SupportedArchitectures.Contains(arch))
        {
            throw new SpecException(Diagnostics.UnsupportedArchitecture, file, source,
                arch is null ? "(no general.architecture)" : DisplayText.Escape(arch), string.Join(", ", ModelConfig.SupportedArchitectures));
        }

        ModelConfig config;
        try
        {
            config = ModelConfig.FromMetadata(header.Metadata, source);
            config.CheckBuffers(ModelEmitter.CacheLength(config), ModelEmitter.MaxBatchSize, source);
        }
        catch (UnsupportedModelException e)
        {
            throw new SpecException(Diagnostics.InvalidHyperParameters, file, source, e.Problem);
        }

        var spec = new ModelSpec
        {
            ClassName = file.ClassName,
            Namespace = file.Namespace,
            SourceFileName = source,
            Fingerprint = fingerprint,
            Config = config,
            Tensors = new EquatableArray<TensorSpec>(header.Tensors
                .Select(x => new TensorSpec(x.Name, x.Type, new EquatableArray<long>(x.Shape.ToArray()), x.Offset))
                .ToArray()),
        };

        return spec with { Weights = new EquatableArray<TensorSpec>(CheckTensors(spec, file, source)) };
    }

    /// <summary>
    /// Checks every tensor the forward pass reads (present, of the expected shape, in a format the kernels compute)
    /// and returns them in file order: only these become fields of the compiled class, whatever else the file holds.
    /// </summary>
    private static TensorSpec[] CheckTensors(ModelSpec spec, ModelFile file, string source)
    {
        var c = spec.Config;
        var read = new HashSet<TensorSpec>();
        int dim = c.EmbeddingLength, q = c.QueryLength, kv = c.KvLength, ffn = c.FeedForwardLength;

        TensorSpec Find(string name) =>
            spec.Find(name) ?? throw new SpecException(Diagnostics.MissingTensor, file, source, name, c.Architecture);

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

            read.Add(t);
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

            read.Add(t);
        }

        for (int i = 0; i < c.LayerCount; i++)
        {
            var p = $"blk.{i}.";
            Vector(p + "attn_norm.weight", dim);
            Matrix(p + "attn_q.weight", dim, q);
            Matrix(p + "attn_k.weight", dim, kv);
            Matrix(p + "attn_v.weight", dim, kv);
            Matrix(p + "attn_output.weight", q, dim);
            bool biases = c.Architecture == "qwen2";
            Vector(p + "attn_q.bias", q, biases);
            Vector(p + "attn_k.bias", kv, biases);
            Vector(p + "attn_v.bias", kv, biases);
            if (c.Architecture == "qwen3")
            {
                Vector(p + "attn_q_norm.weight", c.HeadDimension);
                Vector(p + "attn_k_norm.weight", c.HeadDimension);
            }

            Vector(p + "ffn_norm.weight", dim);
            Matrix(p + "ffn_gate.weight", dim, ffn);
            Matrix(p + "ffn_up.weight", dim, ffn);
            Matrix(p + "ffn_down.weight", ffn, dim);
        }

        bool tied = spec.Find("output.weight") is null;
        Matrix("token_embd.weight", dim, c.VocabularySize, computed: tied);
        Vector("output_norm.weight", dim);
        if (!tied)
        {
            Matrix("output.weight", dim, c.VocabularySize);
        }

        return spec.Tensors.Where(read.Contains).ToArray();
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
