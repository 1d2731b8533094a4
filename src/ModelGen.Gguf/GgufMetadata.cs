namespace ModelGen.Gguf;

/// <summary>One metadata key-value pair and where it sits in the file.</summary>
/// <param name="Key">The key, e.g. <c>llama.embedding_length</c>.</param>
/// <param name="Value">The value.</param>
/// <param name="Offset">Byte offset of the key in the file, or -1 for an entry built in memory.</param>
public sealed record GgufMetadataEntry(string Key, GgufValue Value, long Offset = -1);

/// <summary>The metadata of a GGUF file: entries in file order, looked up by key.</summary>
public sealed class GgufMetadata
{
    private readonly Dictionary<string, GgufMetadataEntry> _byKey;

    public GgufMetadata(IEnumerable<GgufMetadataEntry> entries, string source = "metadata")
    {
        Source = source;
        Entries = entries.ToArray();
        _byKey = new Dictionary<string, GgufMetadataEntry>(Entries.Count, StringComparer.Ordinal);
        foreach (var entry in Entries)
        {
            if (_byKey.ContainsKey(entry.Key))
            {
                throw new GgufFormatException(source, $"key '{entry.Key}'", entry.Offset, "duplicate key");
            }

            _byKey.Add(entry.Key, entry);
        }
    }

    /// <summary>The file the metadata came from, for messages.</summary>
    public string Source { get; }

    /// <summary>Entries in file order.</summary>
    public IReadOnlyList<GgufMetadataEntry> Entries { get; }

    public int Count => Entries.Count;

    public GgufValue this[string key] => _byKey.TryGetValue(key, out var e) ? e.Value : throw Missing(key);

    public bool ContainsKey(string key) => _byKey.ContainsKey(key);

    public bool TryGetValue(string key, out GgufValue value)
    {
        if (_byKey.TryGetValue(key, out var entry))
        {
            value = entry.Value;
            return true;
        }

        value = null!;
        return false;
    }

    /// <summary>The entry for <paramref name="key"/>, with its file offset; null when absent.</summary>
    public GgufMetadataEntry? Find(string key) => _byKey.TryGetValue(key, out var e) ? e : null;

    public string GetString(string key) => this[key].AsString() ?? throw WrongType(key, "a string");

    public string? TryGetString(string key) => TryGetValue(key, out var v) ? v.AsString() ?? throw WrongType(key, "a string") : null;

    public uint GetUInt32(string key) => checked((uint)GetInteger(key, 0, uint.MaxValue));

    public int GetInt32(string key) => checked((int)GetInteger(key, int.MinValue, int.MaxValue));

    public long GetInt64(string key) => GetInteger(key, long.MinValue, long.MaxValue);

    /// <summary>An integer of any width that must lie in [min, max].</summary>
    public long GetInteger(string key, long min, long max)
    {
        var n = IntegerOf(key, this[key]);
        return n >= min && n <= max ? n : throw new GgufFormatException(Source, $"key '{key}'", Find(key)!.Offset, $"value {n} is outside [{min}, {max}]");
    }

    public long? TryGetInteger(string key) => TryGetValue(key, out var v) ? IntegerOf(key, v) : null;

    public float GetSingle(string key) => (float)(this[key].AsDouble() ?? throw WrongType(key, "a number"));

    public float? TryGetSingle(string key) => TryGetValue(key, out var v) ? (float)(v.AsDouble() ?? throw WrongType(key, "a number")) : null;

    public bool GetBoolean(string key) => this[key].Value is bool b ? b : throw WrongType(key, "a bool");

    public bool? TryGetBoolean(string key) => TryGetValue(key, out var v) ? v.Value as bool? ?? throw WrongType(key, "a bool") : null;

    public GgufArray GetArray(string key) => this[key].AsArray() ?? throw WrongType(key, "an array");

    /// <summary>A materialised array of exactly <typeparamref name="T"/> elements.</summary>
    public T[] GetArray<T>(string key)
    {
        var array = GetArray(key);
        return array.Items as T[] ?? throw WrongType(key, $"an array of {GgufArray.ElementTypeOf(typeof(T))}");
    }

    public string[] GetStringArray(string key) => GetArray<string>(key);

    /// <summary><c>general.architecture</c>, or null.</summary>
    public string? Architecture => TryGetString("general.architecture");

    // A UInt64 above long.MaxValue is an integer, just not one any reader of these keys can use.
    private long IntegerOf(string key, GgufValue value) =>
        value.AsInt64() ?? throw (value.IsInteger
            ? new GgufFormatException(Source, $"key '{key}'", Find(key)!.Offset, $"value {value.Value} is above {long.MaxValue}")
            : WrongType(key, "an integer"));

    private GgufFormatException Missing(string key) => new(Source, $"key '{key}'", -1, "missing");

    private GgufFormatException WrongType(string key, string expected)
    {
        var entry = Find(key)!;
        var actual = entry.Value.AsArray() is { } a ? $"an array of {a.ElementType}" : entry.Value.Type.ToString();
        return new GgufFormatException(Source, $"key '{key}'", entry.Offset, $"expected {expected}, found {actual}");
    }
}
