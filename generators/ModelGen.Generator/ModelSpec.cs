using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

namespace ModelGen.Generator;

/// <summary>A .gguf AdditionalFile as the pipeline first sees it: cheap to compute, and what decides whether its header is read again.</summary>
/// <param name="Path">The file.</param>
/// <param name="Length">Its length in bytes, or -1 when it cannot be read.</param>
/// <param name="LastWriteTicks">Its last write time (UTC ticks).</param>
/// <param name="ClassName">The class to emit (<c>ModelGenClass</c> metadata, else derived from the file name).</param>
/// <param name="Namespace">Its namespace (<c>ModelGenNamespace</c>, else the project's root namespace; empty for none).</param>
internal sealed record ModelFile(string Path, long Length, long LastWriteTicks, string ClassName, string Namespace);

/// <summary>One tensor of the compiled file: what <c>Load</c> checks a file against.</summary>
internal sealed record TensorSpec(string Name, GgmlType Type, EquatableArray<long> Shape, long Offset)
{
    public long Columns => Shape[0];

    public long Rows => Shape.Count > 1 ? Shape[1] : 1;
}

/// <summary>
/// Everything the emitted class depends on, read from a GGUF header: hyper-parameters, the tensor table and the
/// header's fingerprint. Equatable, with no Roslyn symbols or file handles, so the pipeline caches on it.
/// </summary>
internal sealed record ModelSpec
{
    public required string ClassName { get; init; }
    public required string Namespace { get; init; }
    public required string SourceFileName { get; init; }

    /// <summary>SHA-256 of the header bytes (everything before the tensor data), in hex.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The hyper-parameters, read and checked by the engine's own rules.</summary>
    public required ModelConfig Config { get; init; }

    /// <summary>Every tensor of the file, in file order.</summary>
    public required EquatableArray<TensorSpec> Tensors { get; init; }

    /// <summary>The tensors the forward pass reads, checked, in file order: the compiled class's weight fields.</summary>
    public EquatableArray<TensorSpec> Weights { get; init; }

    public TensorSpec? Find(string name)
    {
        foreach (var t in Tensors)
        {
            if (t.Name == name)
            {
                return t;
            }
        }

        return null;
    }
}

/// <summary>What reading one file gives: a spec, or the diagnostic that explains why there is none.</summary>
internal sealed record ModelSpecResult(ModelSpec? Spec, DiagnosticInfo? Diagnostic);
