using System.Buffers.Binary;
using System.Text;

namespace ModelGen.Gguf;

/// <summary>
/// Writes GGUF version 3 files in the canonical layout llama.cpp writes: header, metadata, tensor table, zero
/// padding to the alignment, then each tensor's data in table order, each padded to the alignment.
/// </summary>
/// <example><code>
/// var w = new GgufWriter();
/// w.Add("general.architecture", GgufValue.Of("llama"));
/// w.AddTensor("token_embd.weight", GgmlType.F32, [64, 32000], bytes);
/// w.Write("model.gguf");
/// </code></example>
public sealed class GgufWriter
{
    private readonly List<GgufMetadataEntry> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Shape, long ByteLength, Action<Stream> WriteData);

    /// <summary>The metadata added so far, in order.</summary>
    public IReadOnlyList<GgufMetadataEntry> Metadata => _metadata;

    /// <summary>Alignment of the data section: <c>general.alignment</c> if added, else 32.</summary>
    public long Alignment =>
        _metadata.FirstOrDefault(e => e.Key == "general.alignment")?.Value.Value is uint a ? a : GgufReader.DefaultAlignment;

    /// <summary>Adds a metadata entry; keys must be unique.</summary>
    public GgufWriter Add(string key, GgufValue value)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("metadata keys must not be empty", nameof(key));
        }

        if (!_keys.Add(key))
        {
            throw new ArgumentException($"duplicate metadata key '{key}'", nameof(key));
        }

        if (key == "general.alignment" && (value.Value is not uint a || a == 0 || (a & (a - 1)) != 0))
        {
            throw new ArgumentException("general.alignment must be a uint32 power of 2", nameof(value));
        }

        _metadata.Add(new GgufMetadataEntry(key, value));
        return this;
    }

    /// <summary>Adds every entry of <paramref name="metadata"/>, in order.</summary>
    public GgufWriter AddAll(GgufMetadata metadata)
    {
        foreach (var e in metadata.Entries)
        {
            Add(e.Key, e.Value);
        }

        return this;
    }

    /// <summary>Adds a tensor whose bytes are in memory (copied when written, not now).</summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, ReadOnlyMemory<byte> data)
    {
        var length = Validate(name, type, shape);
        if (data.Length != length)
        {
            throw new ArgumentException($"tensor '{name}' needs {length} bytes, got {data.Length}", nameof(data));
        }

        _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), length, s => s.Write(data.Span)));
        return this;
    }

    /// <summary>Adds a tensor whose bytes a callback writes when the file is written (for data larger than memory).</summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, Action<Stream> writeData)
    {
        var length = Validate(name, type, shape);
        _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), length, writeData));
        return this;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> through <see cref="OutputFile"/>: a temporary file renamed when
    /// complete, so a failure leaves an existing file intact; a path that is not a regular file is refused.
    /// </summary>
    public void Write(string path) => OutputFile.Write(path, (Stream stream) => Write(stream));

    /// <summary>Writes the file to <paramref name="stream"/>, from its current position.</summary>
    public void Write(Stream stream)
    {
        long alignment = Alignment;
        var header = new MemoryStream();
        WriteUInt32(header, GgufReader.Magic);
        WriteUInt32(header, 3);
        WriteUInt64(header, (ulong)_tensors.Count);
        WriteUInt64(header, (ulong)_metadata.Count);
        foreach (var entry in _metadata)
        {
            WriteString(header, entry.Key);
            WriteUInt32(header, (uint)entry.Value.Type);
            WriteValue(header, entry.Value.Value);
        }

        long offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(header, t.Name);
            WriteUInt32(header, (uint)t.Shape.Length);
            foreach (var d in t.Shape)
            {
                WriteUInt64(header, (ulong)d);
            }

            WriteUInt32(header, (uint)t.Type);
            WriteUInt64(header, (ulong)offset);
            offset += Padded(t.ByteLength, alignment);
        }

        if (_tensors.Count > 0)
        {
            header.Write(new byte[Padded(header.Length, alignment) - header.Length]);
        }

        header.Position = 0;
        header.CopyTo(stream);
        foreach (var t in _tensors)
        {
            long before = stream.CanSeek ? stream.Position : -1;
            t.WriteData(stream);
            if (before >= 0 && stream.Position - before != t.ByteLength)
            {
                throw new InvalidOperationException($"tensor '{t.Name}' wrote {stream.Position - before} bytes, expected {t.ByteLength}");
            }

            stream.Write(new byte[Padded(t.ByteLength, alignment) - t.ByteLength]);
        }
    }

    private long Validate(string name, GgmlType type, long[] shape)
    {
        if (Encoding.UTF8.GetByteCount(name) >= GgufReader.MaxTensorNameBytes)
        {
            throw new ArgumentException($"tensor name '{name}' is longer than {GgufReader.MaxTensorNameBytes - 1} bytes", nameof(name));
        }

        if (!_names.Add(name))
        {
            throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        }

        if (shape.Length is 0 or > GgufReader.MaxDimensions || shape.Any(d => d < 0))
        {
            throw new ArgumentException($"tensor '{name}' needs 1 to {GgufReader.MaxDimensions} non-negative dimensions", nameof(shape));
        }

        var info = type.Info();
        if (shape[0] % info.BlockSize != 0)
        {
            throw new ArgumentException($"tensor '{name}' row of {shape[0]} is not a multiple of the {info.Name} block size {info.BlockSize}", nameof(shape));
        }

        long elements = shape.Aggregate(1L, (a, d) => checked(a * d));
        return elements / info.BlockSize * info.BytesPerBlock;
    }

    private static long Padded(long n, long alignment) => (n + alignment - 1) / alignment * alignment;

    private static void WriteValue(Stream s, object value)
    {
        switch (value)
        {
            case byte v: s.WriteByte(v); break;
            case sbyte v: s.WriteByte((byte)v); break;
            case ushort v: Span2(s, v); break;
            case short v: Span2(s, (ushort)v); break;
            case uint v: WriteUInt32(s, v); break;
            case int v: WriteUInt32(s, (uint)v); break;
            case float v: WriteUInt32(s, (uint)BitConverter.SingleToInt32Bits(v)); break;
            case bool v: s.WriteByte(v ? (byte)1 : (byte)0); break;
            case string v: WriteString(s, v); break;
            case ulong v: WriteUInt64(s, v); break;
            case long v: WriteUInt64(s, (ulong)v); break;
            case double v: WriteUInt64(s, (ulong)BitConverter.DoubleToInt64Bits(v)); break;
            case GgufArray a:
                WriteUInt32(s, (uint)a.ElementType);
                WriteUInt64(s, (ulong)a.Count);
                foreach (var item in a.Items)
                {
                    WriteValue(s, item!);
                }

                break;
            default:
                throw new ArgumentException($"{value.GetType().Name} is not a GGUF value");
        }
    }

    private static void Span2(Stream s, ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteUInt32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteUInt64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteString(Stream s, string v)
    {
        var bytes = Encoding.UTF8.GetBytes(v);
        WriteUInt64(s, (ulong)bytes.Length);
        s.Write(bytes);
    }
}
