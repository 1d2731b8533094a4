using ModelGen.Gguf;

namespace ModelGen.TestSupport;

/// <summary>A real model's header with one thing changed: how tests make the bad files the loaders must refuse.</summary>
public static class GgufVariant
{
    /// <summary>
    /// Rewrites <paramref name="source"/>'s header into <paramref name="path"/>: metadata through <paramref name="metadata"/>
    /// (null drops an entry), tensors through <paramref name="tensor"/> (null drops one), then the entries and tensors
    /// of <paramref name="addMetadata"/> and <paramref name="addTensors"/> after them. Data is zeros.
    /// </summary>
    public static string Write(string source, string path,
        Func<GgufMetadataEntry, GgufValue?>? metadata = null,
        Func<GgufTensorInfo, (string Name, GgmlType Type, long[] Shape)?>? tensor = null,
        IEnumerable<(string Key, GgufValue Value)>? addMetadata = null,
        IEnumerable<(string Name, GgmlType Type, long[] Shape)>? addTensors = null)
    {
        using var file = GgufFile.Open(source);
        var writer = new GgufWriter();
        foreach (var entry in file.Metadata.Entries)
        {
            if ((metadata is null ? entry.Value : metadata(entry)) is { } value)
            {
                writer.Add(entry.Key, value);
            }
        }

        foreach (var (key, value) in addMetadata ?? [])
        {
            writer.Add(key, value);
        }

        foreach (var t in file.Tensors)
        {
            if ((tensor is null ? (t.Name, t.Type, t.Shape.ToArray()) : tensor(t)) is { } changed)
            {
                writer.AddZeros(changed.Name, changed.Type, changed.Shape);
            }
        }

        foreach (var (name, type, shape) in addTensors ?? [])
        {
            writer.AddZeros(name, type, shape);
        }

        writer.Write(path);
        return path;
    }

    /// <summary>As <see cref="Write"/>, with the value of <paramref name="key"/> set, added if absent.</summary>
    public static string WithValue(string source, string path, string key, GgufValue value)
    {
        bool present;
        using (var file = GgufFile.Open(source))
        {
            present = file.Metadata.ContainsKey(key);
        }

        return present
            ? Write(source, path, metadata: e => e.Key == key ? value : e.Value)
            : Write(source, path, addMetadata: [(key, value)]);
    }

    /// <summary>Writes a tensor's bytes as zeros: a hole in the file, ended by one written byte so the length is right.</summary>
    public static GgufWriter AddZeros(this GgufWriter writer, string name, GgmlType type, long[] shape) =>
        writer.AddTensor(name, type, shape, Zeros(type, shape));

    private static Action<Stream> Zeros(GgmlType type, long[] shape)
    {
        long bytes = type.Info().RowBytes(shape[0]) * shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        return stream =>
        {
            stream.Seek(bytes - 1, SeekOrigin.Current);
            stream.WriteByte(0);
        };
    }
}
