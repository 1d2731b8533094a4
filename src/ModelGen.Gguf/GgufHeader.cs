namespace ModelGen.Gguf;

/// <summary>Everything in a GGUF file but the tensor data: version, metadata, tensor table and layout.</summary>
public sealed class GgufHeader
{
    internal GgufHeader(string source, uint version, GgufMetadata metadata, IReadOnlyList<GgufTensorInfo> tensors,
        long alignment, long dataOffset, long fileLength)
    {
        Source = source;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        FileLength = fileLength;
        _byName = new Dictionary<string, GgufTensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            _byName[t.Name] = t;
        }
    }

    private readonly Dictionary<string, GgufTensorInfo> _byName;

    /// <summary>The file the header was read from.</summary>
    public string Source { get; }

    /// <summary>GGUF version: 2 or 3.</summary>
    public uint Version { get; }

    public GgufMetadata Metadata { get; }

    /// <summary>Tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary><c>general.alignment</c>, or 32 when absent.</summary>
    public long Alignment { get; }

    /// <summary>Byte offset of the data section (the header, padded to <see cref="Alignment"/>).</summary>
    public long DataOffset { get; }

    /// <summary>Length of the file.</summary>
    public long FileLength { get; }

    public GgufTensorInfo? FindTensor(string name) => _byName.TryGetValue(name, out var t) ? t : null;

    /// <summary>Total elements of all tensors.</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

    /// <summary>Total bytes of all tensor data (without padding).</summary>
    public long TensorBytes => Tensors.Sum(t => t.ByteLength);
}
