namespace ModelGen.Runtime.Engine;

/// <summary>
/// The key/value cache in F16, as llama.cpp keeps it by default, for one or more sequences (slots) of
/// <see cref="ContextLength"/> positions each. Keys are stored by position (<c>[position][kvHead * headDim]</c>) and
/// values transposed (<c>[kvHead * headDim][position]</c>), so that both attention products are dot products over
/// contiguous memory. Each (layer, sequence) has its own arrays, so a sequence is as long as one alone could be.
/// </summary>
public sealed class KvCache
{
    private readonly Half[][] _keys;
    private readonly Half[][] _values;

    public KvCache(int layers, int contextLength, int kvLength, int sequenceCount = 1)
    {
        ContextLength = contextLength;
        KvLength = kvLength;
        SequenceCount = sequenceCount;
        _keys = new Half[layers * sequenceCount][];
        _values = new Half[layers * sequenceCount][];
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i] = new Half[(long)contextLength * kvLength];
            _values[i] = new Half[(long)contextLength * kvLength];
        }
    }

    /// <summary>Positions per sequence.</summary>
    public int ContextLength { get; }

    public int KvLength { get; }

    public int SequenceCount { get; }

    /// <summary>Bytes the cache occupies.</summary>
    public long ByteLength => 2L * _keys.Length * ContextLength * KvLength * sizeof(ushort);

    /// <summary>Keys of <paramref name="layer"/> at <paramref name="position"/> of <paramref name="sequence"/>: <see cref="KvLength"/> values.</summary>
    public Span<Half> Key(int layer, int sequence, int position) => Keys(layer, sequence).AsSpan(position * KvLength, KvLength);

    /// <summary>Keys of <paramref name="layer"/> in <paramref name="sequence"/> for positions [0, <paramref name="count"/>).</summary>
    public ReadOnlySpan<Half> Keys(int layer, int sequence, int count) => Keys(layer, sequence).AsSpan(0, count * KvLength);

    /// <summary>
    /// Value components [<paramref name="first"/>, <paramref name="first"/> + <paramref name="components"/>) of
    /// <paramref name="layer"/> in <paramref name="sequence"/> for positions [0, <paramref name="count"/>): rows
    /// <see cref="ContextLength"/> apart.
    /// </summary>
    public ReadOnlySpan<Half> ValueRows(int layer, int sequence, int first, int components, int count) =>
        Values(layer, sequence).AsSpan(first * ContextLength, (components - 1) * ContextLength + count);

    /// <summary>Stores <paramref name="values"/> (already F16) as the values at <paramref name="position"/> of <paramref name="sequence"/>.</summary>
    public void StoreValue(int layer, int sequence, int position, ReadOnlySpan<Half> values)
    {
        var transposed = Values(layer, sequence);
        for (int c = 0; c < values.Length; c++)
        {
            transposed[c * ContextLength + position] = values[c];
        }
    }

    private Half[] Keys(int layer, int sequence) => _keys[layer * SequenceCount + sequence];

    private Half[] Values(int layer, int sequence) => _values[layer * SequenceCount + sequence];
}
