using System.IO.MemoryMappedFiles;

namespace ModelGen.Gguf;

/// <summary>
/// An open GGUF file: its validated header and its tensor data, memory-mapped read-only. Files of any size work:
/// offsets are 64-bit throughout, and tensor data is reached through pointers, with spans only per row or per
/// tensor under 2 GiB. Every tensor's range was proven inside the file when it was opened.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private GgufFile(string path, GgufHeader header, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer)
    {
        Path = path;
        Header = header;
        _map = map;
        _view = view;
        _base = basePointer;
    }

    /// <summary>Opens, validates and memory-maps a GGUF file. Metadata arrays are materialised.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file.</exception>
    public static GgufFile Open(string path, GgufReadOptions? options = null)
    {
        var header = GgufReader.ReadHeader(path, options);
        return Map(path, header, offset: 0, length: 0);
    }

    /// <summary>
    /// Opens, validates and memory-maps a GGUF file stored at bytes [<paramref name="offset"/>,
    /// <paramref name="offset"/> + <paramref name="length"/>) of a larger file, such as weights appended to an
    /// executable. Every offset in the header is checked against <paramref name="length"/>, not the whole file.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    /// <exception cref="GgufFormatException">The range does not hold a valid GGUF file.</exception>
    public static GgufFile Open(string path, long offset, long length, GgufReadOptions? options = null)
    {
        GgufHeader header;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan))
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
            if (length > stream.Length - offset)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, $"bytes {offset}..{offset + length} are not inside {path} ({stream.Length} bytes)");
            }

            header = GgufReader.ReadHeader(new StreamWindow(stream, offset, length), path, options);
        }

        return Map(path, header, offset, length);
    }

    /// <summary>Maps <paramref name="length"/> bytes from <paramref name="offset"/> (0 for the whole file).</summary>
    private static GgufFile Map(string path, GgufHeader header, long offset, long length)
    {
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        try
        {
            // The view starts at the page holding offset; PointerOffset is where offset lies within it.
            var view = map.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new GgufFile(path, header, map, view, p + view.PointerOffset);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public GgufHeader Header { get; }

    public GgufMetadata Metadata => Header.Metadata;

    public IReadOnlyList<GgufTensorInfo> Tensors => Header.Tensors;

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public GgufTensorInfo? FindTensor(string name) => Header.FindTensor(name);

    /// <summary>Start of the mapped file. Valid until <see cref="Dispose"/>.</summary>
    public byte* BasePointer => _base != null ? _base : throw new ObjectDisposedException(Path);

    /// <summary>Pointer to the first byte of <paramref name="tensor"/>'s data (<see cref="GgufTensorInfo.ByteLength"/> bytes).</summary>
    public byte* GetDataPointer(GgufTensorInfo tensor) => BasePointer + Header.DataOffset + tensor.Offset;

    /// <summary>The data of a tensor smaller than 2 GiB.</summary>
    public ReadOnlySpan<byte> GetData(GgufTensorInfo tensor) =>
        tensor.ByteLength <= int.MaxValue
            ? new ReadOnlySpan<byte>(GetDataPointer(tensor), (int)tensor.ByteLength)
            : throw new InvalidOperationException($"tensor '{tensor.Name}' is {tensor.ByteLength} bytes; use GetDataPointer or GetRow");

    /// <summary>Row <paramref name="row"/> of a tensor, seen as rows of <see cref="GgufTensorInfo.RowLength"/> elements.</summary>
    public ReadOnlySpan<byte> GetRow(GgufTensorInfo tensor, long row)
    {
        if ((ulong)row >= (ulong)tensor.RowCount)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"tensor '{tensor.Name}' has {tensor.RowCount} rows");
        }

        return new ReadOnlySpan<byte>(GetDataPointer(tensor) + row * tensor.RowBytes, checked((int)tensor.RowBytes));
    }

    public void Dispose()
    {
        if (_base != null)
        {
            _base = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _map.Dispose();
        }
    }
}
