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
    /// Checks every tensor the forward pass reads against its role (<see cref="ModelTensors"/>, the engine's own
    /// rules) and returns them in file order: only these become fields of the compiled class, whatever else the file holds.
    /// </summary>
    private static TensorSpec[] CheckTensors(ModelSpec spec, ModelFile file, string source)
    {
        var read = new HashSet<string>();
        bool tied = spec.Find(ModelTensors.Output) is null;
        foreach (var role in ModelTensors.Roles(spec.Config, tied))
        {
            var t = spec.Find(role.Name);
            if (ModelTensors.Check(role, t?.Type, t?.Shape, spec.Config.Architecture, WeightFormatTable.IsWeightFormat) is { } problem)
            {
                var descriptor = problem.Kind switch
                {
                    TensorProblemKind.Missing => Diagnostics.MissingTensor,
                    TensorProblemKind.Shape => Diagnostics.InconsistentShape,
                    _ => Diagnostics.UnsupportedTensorType,
                };
                throw new SpecException(descriptor, file, source, problem.Message);
            }

            if (t is not null)
            {
                read.Add(t.Name);
            }
        }

        return spec.Tensors.Where(t => read.Contains(t.Name)).ToArray();
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
