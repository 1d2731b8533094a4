namespace ModelGen.Gguf;

/// <summary>
/// A metadata array. Materialised arrays hold their items as a typed CLR array (<c>float[]</c>, <c>string[]</c>,
/// <c>GgufArray[]</c> for nested arrays, ...). A header-only read leaves long arrays unmaterialised: their count,
/// position and first items are known, their items are not (the file was walked over, not copied).
/// </summary>
public sealed class GgufArray : IEquatable<GgufArray>
{
    /// <summary>How many leading items a header-only read keeps of an array it does not materialise.</summary>
    public const int PreviewLength = 8;

    private readonly Array? _items;

    internal GgufArray(GgufValueType elementType, long count, long offset, Array? items, Array preview)
    {
        ElementType = elementType;
        Count = count;
        Offset = offset;
        _items = items;
        Preview = preview;
    }

    /// <summary>Type of every element.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>Number of elements.</summary>
    public long Count { get; }

    /// <summary>Byte offset of the first element in the file it was read from, or -1 for an array built in memory.</summary>
    public long Offset { get; }

    /// <summary>Whether <see cref="Items"/> is available.</summary>
    public bool IsMaterialized => _items is not null;

    /// <summary>All items as a typed array (<c>uint[]</c>, <c>string[]</c>, <c>GgufArray[]</c>, ...).</summary>
    /// <exception cref="InvalidOperationException">The array was read header-only and not materialised.</exception>
    public Array Items => _items ?? throw new InvalidOperationException(
        $"array of {Count} {ElementType} at byte {Offset} was read header-only; open the file with GgufFile.Open to read its items");

    /// <summary>The first items (at most <see cref="PreviewLength"/>), available even when not materialised.</summary>
    public Array Preview { get; }

    /// <summary>The items as <typeparamref name="T"/>[]; <typeparamref name="T"/> must be the exact element type.</summary>
    public T[] ToArray<T>() => Items as T[] ?? throw new InvalidCastException(
        $"array of {ElementType} at byte {Offset} is not an array of {typeof(T).Name}");

    /// <summary>Builds an array in memory (for writing). Element type follows from <typeparamref name="T"/>.</summary>
    public static GgufArray Of<T>(T[] items)
    {
        if (items is null)
        {
            throw new ArgumentNullException(nameof(items));
        }

        var type = ElementTypeOf(typeof(T));
        return new GgufArray(type, items.Length, -1, items, Head(items, PreviewLength));
    }

    internal static GgufValueType ElementTypeOf(Type t) =>
        t == typeof(byte) ? GgufValueType.UInt8 :
        t == typeof(sbyte) ? GgufValueType.Int8 :
        t == typeof(ushort) ? GgufValueType.UInt16 :
        t == typeof(short) ? GgufValueType.Int16 :
        t == typeof(uint) ? GgufValueType.UInt32 :
        t == typeof(int) ? GgufValueType.Int32 :
        t == typeof(float) ? GgufValueType.Float32 :
        t == typeof(bool) ? GgufValueType.Bool :
        t == typeof(string) ? GgufValueType.String :
        t == typeof(ulong) ? GgufValueType.UInt64 :
        t == typeof(long) ? GgufValueType.Int64 :
        t == typeof(double) ? GgufValueType.Float64 :
        t == typeof(GgufArray) ? GgufValueType.Array :
        throw new ArgumentException($"{t.Name} is not a GGUF element type");

    internal static Array Head(Array items, int length)
    {
#if NETSTANDARD2_0
        // The source generator's copy of this file; CreateInstanceFromArrayType, which trimming can follow, is newer.
        var head = Array.CreateInstance(items.GetType().GetElementType()!, Math.Min(length, items.Length));
#else
        var head = Array.CreateInstanceFromArrayType(items.GetType(), Math.Min(length, items.Length));
#endif
        Array.Copy(items, head, head.Length);
        return head;
    }

    public bool Equals(GgufArray? other)
    {
        if (other is null || other.ElementType != ElementType || other.Count != Count)
        {
            return false;
        }

        var (mine, theirs) = (IsMaterialized && other.IsMaterialized) ? (Items, other.Items) : (Preview, other.Preview);
        if (mine.Length != theirs.Length)
        {
            return false;
        }

        for (int i = 0; i < mine.Length; i++)
        {
            object a = mine.GetValue(i)!, b = theirs.GetValue(i)!;
            if (!(a is GgufArray x ? x.Equals(b as GgufArray) : GgufValue.ScalarEquals(a, b)))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as GgufArray);

    public override int GetHashCode() => unchecked((int)Count * 31 + (int)ElementType);

    /// <summary><c>[3 × string] "a", "b", "c"</c>, with an ellipsis after the preview when longer.</summary>
    public override string ToString()
    {
        var shown = IsMaterialized ? Head(Items, PreviewLength) : Preview;
        var parts = new string[shown.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = GgufValue.Format(shown.GetValue(i)!);
        }

        var more = Count > shown.Length ? ", …" : "";
        return $"[{Count} × {ElementType.ToString().ToLowerInvariant()}] {string.Join(", ", parts)}{more}";
    }
}
