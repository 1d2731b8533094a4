namespace ModelGen.Gguf;

/// <summary>
/// One entry of a GGUF tensor table. <see cref="Shape"/> is in ggml order: <c>Shape[0]</c> is the row length
/// (contiguous elements), <c>Shape[1]</c> the number of rows, and so on.
/// </summary>
public sealed class GgufTensorInfo : IEquatable<GgufTensorInfo>
{
    public GgufTensorInfo(string name, GgmlType type, long[] shape, long offset, long infoOffset = -1)
    {
        Name = name;
        Type = type;
        Shape = shape;
        Offset = offset;
        InfoOffset = infoOffset;
        long elements = 1;
        foreach (var d in shape)
        {
            elements *= d;
        }

        ElementCount = elements;
        ByteLength = elements / type.Info().BlockSize * type.Info().BytesPerBlock;
    }

    public string Name { get; }

    public GgmlType Type { get; }

    /// <summary>Dimensions in ggml order (1 to 4 of them).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Offset of the data relative to the start of the data section.</summary>
    public long Offset { get; }

    /// <summary>Byte offset of this entry in the tensor table of the file, or -1 when built in memory.</summary>
    public long InfoOffset { get; }

    public long ElementCount { get; }

    public long ByteLength { get; }

    /// <summary>Elements per row (<c>Shape[0]</c>).</summary>
    public long RowLength => Shape[0];

    /// <summary>Number of rows: the product of every dimension but the first.</summary>
    public long RowCount => Shape.Count == 0 || Shape[0] == 0 ? 0 : ElementCount / Shape[0];

    /// <summary>Bytes per row.</summary>
    public long RowBytes => Type.Info().RowBytes(RowLength);

    public bool Equals(GgufTensorInfo? other) =>
        other is not null && other.Name == Name && other.Type == Type && other.Offset == Offset && other.Shape.SequenceEqual(Shape);

    public override bool Equals(object? obj) => Equals(obj as GgufTensorInfo);

    public override int GetHashCode() => Name.GetHashCode();

    public override string ToString() => $"{Name} {Type.Info().Name} [{string.Join(", ", Shape)}] @{Offset}";
}
