using ModelGen.Gguf;

namespace ModelGen.Kernels;

/// <summary>
/// A row-major matrix of ggml blocks in memory that the caller keeps alive and in place: typically a tensor of a
/// memory-mapped GGUF file, which may exceed 2 GiB. Each of <see cref="Rows"/> rows holds <see cref="Columns"/>
/// elements in whole blocks, and starts <see cref="RowStride"/> bytes after the previous one.
/// </summary>
/// <remarks>
/// The constructor checks every row against the memory's length once, so kernels make per-row spans without
/// further checks.
/// </remarks>
public readonly unsafe struct WeightMatrix
{
    private readonly byte* _data;

    /// <summary>A matrix of <paramref name="rows"/> rows at <paramref name="data"/>, within <paramref name="byteLength"/> bytes.</summary>
    /// <param name="type">The storage format.</param>
    /// <param name="data">The first row.</param>
    /// <param name="byteLength">Bytes readable from <paramref name="data"/>.</param>
    /// <param name="rows">Rows of the matrix.</param>
    /// <param name="columns">Elements per row: a whole number of blocks of <paramref name="type"/>.</param>
    /// <param name="rowStride">Bytes from one row to the next; 0 (the default) means rows are packed.</param>
    public WeightMatrix(GgmlType type, byte* data, long byteLength, int rows, int columns, long rowStride = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(rowStride);

        long rowBytes = type.Info().RowBytes(columns);
        if (rowBytes < 0)
        {
            throw new ArgumentException($"{columns} columns are not whole blocks of {type}", nameof(columns));
        }

        if (rowBytes > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(columns), $"a row of {rowBytes} bytes exceeds what a span can hold");
        }

        long stride = rowStride == 0 ? rowBytes : rowStride;
        if (stride < rowBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(rowStride), $"a stride of {stride} bytes is less than a row ({rowBytes} bytes)");
        }

        // By division, as (rows - 1) * stride can overflow.
        if (rows > 0 && (byteLength < rowBytes || rows - 1 > (byteLength - rowBytes) / stride))
        {
            throw new ArgumentOutOfRangeException(
                nameof(byteLength), $"{rows} rows of {rowBytes} bytes {stride} bytes apart do not fit in {byteLength} bytes");
        }

        Type = type;
        _data = data;
        Rows = rows;
        Columns = columns;
        RowBytes = (int)rowBytes;
        RowStride = stride;
    }

    /// <inheritdoc cref="WeightMatrix(GgmlType, byte*, long, int, int, long)"/>
    public WeightMatrix(GgmlType type, nint data, long byteLength, int rows, int columns, long rowStride = 0)
        : this(type, (byte*)data, byteLength, rows, columns, rowStride)
    {
    }

    /// <summary>The storage format.</summary>
    public GgmlType Type { get; }

    /// <summary>Rows of the matrix.</summary>
    public int Rows { get; }

    /// <summary>Elements per row.</summary>
    public int Columns { get; }

    /// <summary>Bytes of one row's blocks.</summary>
    public int RowBytes { get; }

    /// <summary>Bytes from the start of one row to the start of the next.</summary>
    public long RowStride { get; }

    /// <summary>The first row.</summary>
    public byte* Data => _data;

    /// <summary>The blocks of row <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Row(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Rows, nameof(index));
        return new ReadOnlySpan<byte>(_data + index * RowStride, RowBytes);
    }
}
