using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelGen.Gguf;

/// <summary>Options for reading a GGUF header.</summary>
public sealed class GgufReadOptions
{
    /// <summary>
    /// Materialise every metadata array. When false (header-only reading), arrays longer than
    /// <see cref="GgufArray.PreviewLength"/> are walked over and keep only their count, offset and first items:
    /// a 150,000-token vocabulary costs a pass over its lengths, not 150,000 strings.
    /// </summary>
    public bool MaterializeArrays { get; set; } = true;

    public static GgufReadOptions HeaderOnly => new() { MaterializeArrays = false };
}

/// <summary>
/// Parses the GGUF header (versions 2 and 3) from a seekable stream. Every count, length and offset is checked
/// against the stream length before anything is allocated or trusted; violations throw
/// <see cref="GgufFormatException"/> naming the field and its byte offset.
/// </summary>
public sealed class GgufReader
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>Alignment of the data section and of every tensor when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>ggml's GGML_MAX_NAME: tensor names are shorter than this many bytes.</summary>
    public const int MaxTensorNameBytes = 64;

    /// <summary>ggml's GGML_MAX_DIMS.</summary>
    public const int MaxDimensions = 4;

    private const int MaxNestingDepth = 16;

    private readonly Stream _stream;
    private readonly string _source;
    private readonly long _length;
    private readonly bool _materialize;
    private readonly byte[] _buffer = new byte[1 << 16];
    private long _bufferStart;
    private int _bufferPos;
    private int _bufferLen;

    private GgufReader(Stream stream, string source, GgufReadOptions options)
    {
        _stream = stream;
        _source = source;
        _length = stream.Length;
        _materialize = options.MaterializeArrays;
        _bufferStart = stream.Position;
    }

#if !NETSTANDARD2_0
    // Not in the source generator's copy of this file: analyzers may not touch the file system by path (RS1035).
    /// <summary>Reads the header of the file at <paramref name="path"/>; tensor data is not touched.</summary>
    public static GgufHeader ReadHeader(string path, GgufReadOptions? options = null)
    {
        if (Directory.Exists(path))
        {
            throw new GgufFormatException(path, "file", 0, "is a directory, not a GGUF file");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return ReadHeader(stream, path, options);
    }
#endif

    /// <summary>Reads a GGUF header from the start of a seekable <paramref name="stream"/>.</summary>
    /// <param name="stream">The stream; its length is the file length every offset is checked against.</param>
    /// <param name="source">A name for messages, usually the path.</param>
    /// <param name="options">Reading options; by default arrays are materialised.</param>
    public static GgufHeader ReadHeader(Stream stream, string source, GgufReadOptions? options = null)
    {
        if (!stream.CanSeek)
        {
            throw new ArgumentException("GGUF needs a seekable stream", nameof(stream));
        }

        stream.Position = 0;
        return new GgufReader(stream, source, options ?? new GgufReadOptions()).Read();
    }

    private long Position => _bufferStart + _bufferPos;

    private GgufHeader Read()
    {
        if (_length == 0)
        {
            throw Error("file", 0, "is empty");
        }

        long at = Position;
        uint magic = ReadUInt32("magic");
        if (magic != Magic)
        {
            throw Error("magic", at, $"expected 'GGUF', found {Printable(magic)}");
        }

        at = Position;
        uint version = ReadUInt32("version");
        if (version == 1)
        {
            throw Error("version", at, "GGUF version 1 is no longer supported (ggml rejects it too)");
        }

        if (version is not (2 or 3))
        {
            var hint = (version & 0xFFFF) == 0 ? " (a big-endian file?)" : "";
            throw Error("version", at, $"unsupported GGUF version {version}{hint}; versions 2 and 3 are supported");
        }

        long tensorCount = ReadCount("tensor count", minBytesEach: 8 + 4 + 8 + 4 + 8);
        long kvCount = ReadCount("metadata count", minBytesEach: 8 + 4 + 1);

        var entries = new List<GgufMetadataEntry>((int)Math.Min(kvCount, 1024));
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            long keyAt = Position;
            string key = ReadString($"metadata key #{i}");
            if (key.Length == 0)
            {
                throw Error($"metadata key #{i}", keyAt, "is empty");
            }

            if (!keys.Add(key))
            {
                throw Error($"key '{key}'", keyAt, "duplicate key");
            }

            long typeAt = Position;
            var type = ReadValueType($"key '{key}' type");
            entries.Add(new GgufMetadataEntry(key, ReadValue(type, $"key '{key}'", typeAt, depth: 0), keyAt));
        }

        var metadata = new GgufMetadata(entries, _source);
        long alignment = DefaultAlignment;
        if (metadata.Find("general.alignment") is { } alignEntry)
        {
            if (alignEntry.Value.Value is not uint a)
            {
                throw Error("key 'general.alignment'", alignEntry.Offset, $"must be a uint32, found {alignEntry.Value.Type}");
            }

            if (a == 0 || (a & (a - 1)) != 0)
            {
                throw Error("key 'general.alignment'", alignEntry.Offset, $"alignment {a} is not a power of 2");
            }

            alignment = a;
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 4096));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
        {
            tensors.Add(ReadTensorInfo(i, names));
        }

        long dataOffset = tensorCount > 0 ? AlignUp(Position, alignment) : Position;
        if (dataOffset > _length)
        {
            throw Error("data section", Position, $"padding to alignment {alignment} needs {dataOffset - Position} bytes but the file ends at byte {_length}");
        }

        CheckTensorLayout(tensors, alignment, dataOffset);
        return new GgufHeader(_source, version, metadata, tensors, alignment, dataOffset, _length);
    }

    private GgufTensorInfo ReadTensorInfo(long index, HashSet<string> names)
    {
        long at = Position;
        string name = ReadString($"tensor #{index} name");
        if (Encoding.UTF8.GetByteCount(name) >= MaxTensorNameBytes)
        {
            throw Error($"tensor #{index} name", at, $"'{name}' is {Encoding.UTF8.GetByteCount(name)} bytes; ggml allows at most {MaxTensorNameBytes - 1}");
        }

        if (!names.Add(name))
        {
            throw Error($"tensor '{name}'", at, "duplicate tensor name");
        }

        long dimsAt = Position;
        uint dims = ReadUInt32($"tensor '{name}' dimension count");
        if (dims is 0 or > MaxDimensions)
        {
            throw Error($"tensor '{name}' dimension count", dimsAt, $"{dims} dimensions; 1 to {MaxDimensions} are allowed");
        }

        var shape = new long[dims];
        long elements = 1;
        for (int d = 0; d < dims; d++)
        {
            long dimAt = Position;
            ulong n = ReadUInt64($"tensor '{name}' dimension {d}");
            if (n > long.MaxValue)
            {
                throw Error($"tensor '{name}' dimension {d}", dimAt, $"{n} elements is negative as int64");
            }

            shape[d] = (long)n;
            if (n != 0 && elements > long.MaxValue / (long)n)
            {
                throw Error($"tensor '{name}' shape", dimAt, "element count overflows int64");
            }

            elements *= (long)n;
        }

        long typeAt = Position;
        uint typeId = ReadUInt32($"tensor '{name}' type");
        if (!GgmlTypes.TryGetInfo(typeId, out var info))
        {
            throw Error($"tensor '{name}' type", typeAt, $"unknown ggml type {typeId}");
        }

        if (shape[0] % info.BlockSize != 0)
        {
            throw Error($"tensor '{name}' shape", dimsAt, $"row of {shape[0]} elements is not a multiple of the {info.Name} block size {info.BlockSize}");
        }

        if (elements / info.BlockSize > long.MaxValue / info.BytesPerBlock)
        {
            throw Error($"tensor '{name}' shape", dimsAt, "byte size overflows int64");
        }

        long offsetAt = Position;
        ulong offset = ReadUInt64($"tensor '{name}' offset");
        if (offset > (ulong)_length)
        {
            throw Error($"tensor '{name}' offset", offsetAt, $"data offset {offset} is beyond the end of the file ({_length} bytes)");
        }

        return new GgufTensorInfo(name, info.Type, shape, (long)offset, at);
    }

    private void CheckTensorLayout(List<GgufTensorInfo> tensors, long alignment, long dataOffset)
    {
        long available = _length - dataOffset;
        foreach (var t in tensors)
        {
            if (t.Offset % alignment != 0)
            {
                throw Error($"tensor '{t.Name}' offset", t.InfoOffset, $"data offset {t.Offset} is not a multiple of the alignment {alignment}");
            }

            if (t.ByteLength > available - t.Offset)
            {
                throw Error($"tensor '{t.Name}' data", dataOffset + t.Offset,
                    $"{t.ByteLength} bytes at data offset {t.Offset} extend past the end of the file ({available} bytes of tensor data)");
            }
        }

        var byOffset = tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Offset).ToList();
        for (int i = 1; i < byOffset.Count; i++)
        {
            var (prev, next) = (byOffset[i - 1], byOffset[i]);
            if (prev.Offset + prev.ByteLength > next.Offset)
            {
                throw Error($"tensor '{next.Name}' offset", next.InfoOffset,
                    $"data at {next.Offset} overlaps tensor '{prev.Name}' ({prev.Offset} to {prev.Offset + prev.ByteLength})");
            }
        }
    }

    private GgufValue ReadValue(GgufValueType type, Field field, long typeAt, int depth) => type switch
    {
        GgufValueType.UInt8 => GgufValue.Of(ReadByte(field)),
        GgufValueType.Int8 => GgufValue.Of((sbyte)ReadByte(field)),
        GgufValueType.UInt16 => GgufValue.Of(BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field))),
        GgufValueType.Int16 => GgufValue.Of(BinaryPrimitives.ReadInt16LittleEndian(Take(2, field))),
        GgufValueType.UInt32 => GgufValue.Of(ReadUInt32(field)),
        GgufValueType.Int32 => GgufValue.Of(BinaryPrimitives.ReadInt32LittleEndian(Take(4, field))),
        GgufValueType.Float32 => GgufValue.Of(ReadSingle(field)),
        GgufValueType.Bool => GgufValue.Of(ReadBool(field)),
        GgufValueType.String => GgufValue.Of(ReadString(field)),
        GgufValueType.UInt64 => GgufValue.Of(ReadUInt64(field)),
        GgufValueType.Int64 => GgufValue.Of((long)ReadUInt64(field)),
        GgufValueType.Float64 => GgufValue.Of(ReadDouble(field)),
        GgufValueType.Array => GgufValue.Of(ReadArray(field, depth)),
        _ => throw Error(field, typeAt, $"unknown value type {(uint)type}"),
    };

    private GgufArray ReadArray(Field field, int depth)
    {
        if (depth >= MaxNestingDepth)
        {
            throw Error(field, Position, $"arrays nested deeper than {MaxNestingDepth}");
        }

        long typeAt = Position;
        var elementType = ReadValueType(field.Part("element type"));
        long minBytes = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.String => 8,
            GgufValueType.Array => 4 + 8,
            _ => 8,
        };
        long countAt = Position;
        ulong rawCount = ReadUInt64(field.Part("array length"));
        long remaining = _length - Position;
        if (rawCount > (ulong)(remaining / minBytes))
        {
            throw Error(field.Part("array length"), countAt,
                $"{rawCount} elements of {elementType} need at least {rawCount * (ulong)minBytes} bytes but only {remaining} remain");
        }

        long count = (long)rawCount;
        long start = Position;
        bool materialize = _materialize || count <= GgufArray.PreviewLength;
        int keep = materialize ? (int)count : GgufArray.PreviewLength;
        var items = ReadItems(elementType, keep, typeAt, field, depth);

        if (materialize)
        {
            return new GgufArray(elementType, count, start, items, GgufArray.Head(items, GgufArray.PreviewLength));
        }

        SkipElements(elementType, count - keep, field, keep, depth);
        return new GgufArray(elementType, count, start, null, items);
    }

    /// <summary>
    /// Reads <paramref name="count"/> items into a typed array: strings decoded straight from the buffer, fixed-size
    /// elements copied in bulk, so a 150,000-entry vocabulary costs no boxing per item.
    /// </summary>
    private Array ReadItems(GgufValueType type, int count, long typeAt, Field field, int depth)
    {
        switch (type)
        {
            case GgufValueType.String:
                var strings = new string[count];
                for (int i = 0; i < strings.Length; i++)
                {
                    strings[i] = ReadString(field.Item(i));
                }

                return strings;
            case GgufValueType.Array:
                var arrays = new GgufArray[count];
                for (int i = 0; i < arrays.Length; i++)
                {
                    arrays[i] = ReadArray(field.Item(i), depth + 1);
                }

                return arrays;
            case GgufValueType.Bool:
                var flags = ReadFixed<byte>(count, field);
                var bools = new bool[count];
                for (int i = 0; i < flags.Length; i++)
                {
                    bools[i] = flags[i] <= 1 ? flags[i] == 1 : throw Error(field.Item(i), Position - count + i, $"bool byte {flags[i]} is neither 0 nor 1");
                }

                return bools;
            case GgufValueType.UInt8: return ReadFixed<byte>(count, field);
            case GgufValueType.Int8: return ReadFixed<sbyte>(count, field);
            case GgufValueType.UInt16: return ReadFixed<ushort>(count, field);
            case GgufValueType.Int16: return ReadFixed<short>(count, field);
            case GgufValueType.UInt32: return ReadFixed<uint>(count, field);
            case GgufValueType.Int32: return ReadFixed<int>(count, field);
            case GgufValueType.Float32: return ReadFixed<float>(count, field);
            case GgufValueType.UInt64: return ReadFixed<ulong>(count, field);
            case GgufValueType.Int64: return ReadFixed<long>(count, field);
            case GgufValueType.Float64: return ReadFixed<double>(count, field);
            default: throw Error(field.Part("element type"), typeAt, $"unknown value type {(uint)type}");
        }
    }

    /// <summary>Copies <paramref name="count"/> little-endian elements of <typeparamref name="T"/> out of the stream.</summary>
    private T[] ReadFixed<T>(int count, Field field)
        where T : unmanaged
    {
        var result = new T[count];
        var bytes = MemoryMarshal.AsBytes(result.AsSpan());
        for (int done = 0; done < bytes.Length;)
        {
            int chunk = Math.Min(_buffer.Length, bytes.Length - done);
            Fill(chunk, field.Item(done / Unsafe.SizeOf<T>()));
            new ReadOnlySpan<byte>(_buffer, _bufferPos, chunk).CopyTo(bytes.Slice(done));
            _bufferPos += chunk;
            done += chunk;
        }

        if (!BitConverter.IsLittleEndian && Unsafe.SizeOf<T>() > 1)
        {
            ReverseEndianness(bytes, Unsafe.SizeOf<T>());
        }

        return result;
    }

    private static void ReverseEndianness(Span<byte> bytes, int elementSize)
    {
        for (int i = 0; i < bytes.Length; i += elementSize)
        {
            bytes.Slice(i, elementSize).Reverse();
        }
    }

    private void SkipElements(GgufValueType elementType, long count, Field field, long firstIndex, int depth)
    {
        switch (elementType)
        {
            case GgufValueType.String:
                for (long i = 0; i < count; i++)
                {
                    long at = Position;
                    ulong length = ReadUInt64(field.Item(firstIndex + i).Part("length"));
                    if (length > (ulong)(_length - Position))
                    {
                        throw Error(field.Item(firstIndex + i), at, $"string of {length} bytes extends past the end of the file");
                    }

                    Skip((long)length);
                }

                break;
            case GgufValueType.Array:
                for (long i = 0; i < count; i++)
                {
                    _ = ReadArray(field.Item(firstIndex + i), depth + 1);
                }

                break;
            default:
                // Fixed-size elements: the length check in ReadArray already proved they fit.
                Skip(count * ElementSize(elementType));
                break;
        }
    }

    private static long ElementSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        _ => 8,
    };

    private GgufValueType ReadValueType(Field field)
    {
        long at = Position;
        uint raw = ReadUInt32(field);
        return raw <= (uint)GgufValueType.Float64 ? (GgufValueType)raw : throw Error(field, at, $"unknown value type {raw}");
    }

    private long ReadCount(Field field, long minBytesEach)
    {
        long at = Position;
        ulong n = ReadUInt64(field);
        long remaining = _length - Position;
        return n <= (ulong)(remaining / minBytesEach)
            ? (long)n
            : throw Error(field, at, $"{n} entries need at least {minBytesEach} bytes each but only {remaining} bytes remain");
    }

    private string ReadString(Field field)
    {
        long at = Position;
        ulong length = ReadUInt64(field.Part("length"));
        if (length > (ulong)(_length - Position))
        {
            throw Error(field, at, $"string of {length} bytes extends past the end of the file ({_length - Position} bytes remain)");
        }

        int n = (int)Math.Min(length, int.MaxValue);
        if ((ulong)n != length)
        {
            throw Error(field, at, $"string of {length} bytes is too long");
        }

        if (n <= _buffer.Length)
        {
            Fill(n, field);
            var s = Encoding.UTF8.GetString(_buffer, _bufferPos, n);
            _bufferPos += n;
            return s;
        }

        var bytes = new byte[n];
        for (int done = 0; done < n;)
        {
            int chunk = Math.Min(_buffer.Length, n - done);
            Fill(chunk, field);
            Buffer.BlockCopy(_buffer, _bufferPos, bytes, done, chunk);
            _bufferPos += chunk;
            done += chunk;
        }

        return Encoding.UTF8.GetString(bytes);
    }

    private byte ReadByte(Field field) => Take(1, field)[0];

    private bool ReadBool(Field field)
    {
        long at = Position;
        byte b = ReadByte(field);
        return b <= 1 ? b == 1 : throw Error(field, at, $"bool byte {b} is neither 0 nor 1");
    }

    private uint ReadUInt32(Field field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    private ulong ReadUInt64(Field field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    private float ReadSingle(Field field)
    {
        // Not BitConverter.Int32BitsToSingle: the source generator compiles this file for netstandard2.0, which lacks it.
        int bits = BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));
        return Unsafe.As<int, float>(ref bits);
    }

    private double ReadDouble(Field field) => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(Take(8, field)));

    private ReadOnlySpan<byte> Take(int n, Field field)
    {
        Fill(n, field);
        var span = new ReadOnlySpan<byte>(_buffer, _bufferPos, n);
        _bufferPos += n;
        return span;
    }

    /// <summary>Makes <paramref name="n"/> bytes (at most the buffer size) available at the buffer position.</summary>
    private void Fill(int n, Field field)
    {
        if (_bufferLen - _bufferPos >= n)
        {
            return;
        }

        if (Position + n > _length)
        {
            throw Error(field, Position, $"needs {n} bytes but the file ends at byte {_length}");
        }

        int kept = _bufferLen - _bufferPos;
        Buffer.BlockCopy(_buffer, _bufferPos, _buffer, 0, kept);
        _bufferStart += _bufferPos;
        _bufferPos = 0;
        _bufferLen = kept;
        _stream.Position = _bufferStart + kept;
        while (_bufferLen < n)
        {
            int read = _stream.Read(_buffer, _bufferLen, _buffer.Length - _bufferLen);
            if (read <= 0)
            {
                throw Error(field, Position, $"needs {n} bytes but the stream ended early");
            }

            _bufferLen += read;
        }
    }

    private void Skip(long n)
    {
        long inBuffer = _bufferLen - _bufferPos;
        if (n <= inBuffer)
        {
            _bufferPos += (int)n;
            return;
        }

        _bufferStart = Position + n;
        _bufferPos = 0;
        _bufferLen = 0;
    }

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;

    private static string Printable(uint magic)
    {
        var chars = new char[4];
        for (int i = 0; i < 4; i++)
        {
            byte b = (byte)(magic >> (8 * i));
            chars[i] = b is >= 0x20 and < 0x7f ? (char)b : '.';
        }

        return $"'{new string(chars)}' (0x{magic:x8})";
    }

    private GgufFormatException Error(Field field, long offset, string problem) => new(_source, field.ToString(), offset, problem);

    /// <summary>A field's name for messages, e.g. <c>key 'tokenizer.ggml.tokens' item 19 length</c>; formatted only on error.</summary>
    private readonly struct Field(string name, long item = -1, string? part = null)
    {
        public Field Item(long index) => new(name, index, part);

        public Field Part(string what) => new(name, item, what);

        public static implicit operator Field(string name) => new(name);

        public override string ToString() =>
            name + (item >= 0 ? " item " + item.ToString(System.Globalization.CultureInfo.InvariantCulture) : "") + (part is null ? "" : " " + part);
    }
}
