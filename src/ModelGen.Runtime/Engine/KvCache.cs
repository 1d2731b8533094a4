namespace ModelGen.Runtime.Engine;

/// <summary>
/// The key/value cache in F16, as llama.cpp keeps it by default. Keys are stored by position
/// (<c>[position][kvHead * headDim]</c>) and values transposed (<c>[kvHead * headDim][position]</c>), so that both
/// attention products are dot products over contiguous memory.
/// </summary>
public sealed class KvCache
{
    private readonly Half[][] _keys;
    private readonly Half[][] _values;

    public KvCache(int layers, int contextLength, int kvLength)
    {
        ContextLength = contextLength;
        KvLength = kvLength;
        _keys = new Half[layers][];
        _values = new Half[layers][];
        for (int i = 0; i < layers; i++)
        {
            _keys[i] = new Half[(long)contextLength * kvLength];
            _values[i] = new Half[(long)contextLength * kvLength];
        }
    }

    public int ContextLength { get; }

    public int KvLength { get; }

    /// <summary>Bytes the cache occupies.</summary>
    public long ByteLength => 2L * _keys.Length * ContextLength * KvLength * sizeof(ushort);

    /// <summary>Keys of <paramref name="layer"/> at <paramref name="position"/>: <see cref="KvLength"/> values.</summary>
    public Span<Half> Key(int layer, int position) => _keys[layer].AsSpan(position * KvLength, KvLength);

    /// <summary>Keys of <paramref name="layer"/> for positions [0, <paramref name="count"/>).</summary>
    public ReadOnlySpan<Half> Keys(int layer, int count) => _keys[layer].AsSpan(0, count * KvLength);

    /// <summary>
    /// Value components [<paramref name="first"/>, <paramref name="first"/> + <paramref name="components"/>) of
    /// <paramref name="layer"/> for positions [0, <paramref name="count"/>): rows <see cref="ContextLength"/> apart.
    /// </summary>
    public ReadOnlySpan<Half> ValueRows(int layer, int first, int components, int count) =>
        _values[layer].AsSpan(first * ContextLength, (components - 1) * ContextLength + count);

    /// <summary>Stores <paramref name="values"/> (already F16) as the values at <paramref name="position"/>.</summary>
    public void StoreValue(int layer, int position, ReadOnlySpan<Half> values)
    {
        var transposed = _values[layer];
        for (int c = 0; c < values.Length; c++)
        {
            transposed[c * ContextLength + position] = values[c];
        }
    }
}
