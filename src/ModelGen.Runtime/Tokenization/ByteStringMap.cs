namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// A hash map from byte strings to ids that is probed with spans, so looking up a slice of the text being tokenized
/// allocates nothing. Keys are stored back to back in one array; open addressing with linear probing.
/// </summary>
internal sealed class ByteStringMap
{
    private byte[] _bytes = new byte[256];
    private int _byteCount;
    private Entry[] _entries = new Entry[16];
    private int _count;
    private int[] _slots = new int[32]; // entry index + 1; 0 is empty

    private struct Entry
    {
        public int Start;
        public int Length;
        public int Hash;
        public int Value;
    }

    public int Count => _count;

    public bool TryGetValue(ReadOnlySpan<byte> key, out int value)
    {
        int entry = _slots[FindSlot(key, Hash(key))] - 1;
        value = entry >= 0 ? _entries[entry].Value : -1;
        return entry >= 0;
    }

    /// <summary>The id of <paramref name="key"/>, or -1.</summary>
    public int GetValueOrNone(ReadOnlySpan<byte> key) => TryGetValue(key, out int value) ? value : -1;

    /// <summary>Maps <paramref name="key"/> to <paramref name="value"/>, replacing any earlier value.</summary>
    public void Set(ReadOnlySpan<byte> key, int value) => Insert(key, value, replace: true);

    /// <summary>Maps <paramref name="key"/> to <paramref name="value"/> unless it is already mapped; true if added.</summary>
    public bool TryAdd(ReadOnlySpan<byte> key, int value) => Insert(key, value, replace: false);

    private bool Insert(ReadOnlySpan<byte> key, int value, bool replace)
    {
        int hash = Hash(key);
        int slot = FindSlot(key, hash);
        if (_slots[slot] != 0)
        {
            if (replace)
            {
                _entries[_slots[slot] - 1].Value = value;
            }

            return false;
        }

        if (_byteCount + key.Length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _byteCount + key.Length));
        }

        key.CopyTo(_bytes.AsSpan(_byteCount));
        if (_count == _entries.Length)
        {
            Array.Resize(ref _entries, _count * 2);
        }

        _entries[_count] = new Entry { Start = _byteCount, Length = key.Length, Hash = hash, Value = value };
        _byteCount += key.Length;
        _slots[slot] = ++_count;

        // Keep the load factor at most 1/2 so probe runs stay short.
        if (_count * 2 > _slots.Length)
        {
            Rehash(_slots.Length * 2);
        }

        return true;
    }

    private int FindSlot(ReadOnlySpan<byte> key, int hash)
    {
        int mask = _slots.Length - 1;
        for (int slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            int entry = _slots[slot] - 1;
            if (entry < 0)
            {
                return slot;
            }

            ref readonly var e = ref _entries[entry];
            if (e.Hash == hash && key.SequenceEqual(_bytes.AsSpan(e.Start, e.Length)))
            {
                return slot;
            }
        }
    }

    private void Rehash(int slotCount)
    {
        _slots = new int[slotCount];
        int mask = slotCount - 1;
        for (int entry = 0; entry < _count; entry++)
        {
            int slot = _entries[entry].Hash & mask;
            while (_slots[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            _slots[slot] = entry + 1;
        }
    }

    private static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode();
    }
}
