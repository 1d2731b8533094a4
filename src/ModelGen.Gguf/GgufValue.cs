using System.Globalization;
using System.Text;

namespace ModelGen.Gguf;

/// <summary>Metadata value types, numbered as in the GGUF specification (<c>enum gguf_type</c>).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>
/// One metadata value: a scalar (boxed as its exact CLR type: <see cref="byte"/>, <see cref="sbyte"/>, ...,
/// <see cref="double"/>), a <see cref="string"/>, or a <see cref="GgufArray"/>.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        Value = value;
    }

    public GgufValueType Type { get; }

    public object Value { get; }

    public static GgufValue Of(byte value) => new(GgufValueType.UInt8, value);
    public static GgufValue Of(sbyte value) => new(GgufValueType.Int8, value);
    public static GgufValue Of(ushort value) => new(GgufValueType.UInt16, value);
    public static GgufValue Of(short value) => new(GgufValueType.Int16, value);
    public static GgufValue Of(uint value) => new(GgufValueType.UInt32, value);
    public static GgufValue Of(int value) => new(GgufValueType.Int32, value);
    public static GgufValue Of(float value) => new(GgufValueType.Float32, value);
    public static GgufValue Of(bool value) => new(GgufValueType.Bool, value);
    public static GgufValue Of(string value) => new(GgufValueType.String, value ?? throw new ArgumentNullException(nameof(value)));
    public static GgufValue Of(ulong value) => new(GgufValueType.UInt64, value);
    public static GgufValue Of(long value) => new(GgufValueType.Int64, value);
    public static GgufValue Of(double value) => new(GgufValueType.Float64, value);
    public static GgufValue Of(GgufArray value) => new(GgufValueType.Array, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>An array of scalars or strings; the element type follows from <typeparamref name="T"/>.</summary>
    public static GgufValue Array<T>(params T[] items) => Of(GgufArray.Of(items));

    /// <summary>Wraps a value read from a file, whose CLR type matches <paramref name="type"/> already.</summary>
    internal static GgufValue FromRaw(GgufValueType type, object value) => new(type, value);

    /// <summary>The value as a string, or null when it is not one.</summary>
    public string? AsString() => Value as string;

    /// <summary>The value as an array, or null when it is not one.</summary>
    public GgufArray? AsArray() => Value as GgufArray;

    /// <summary>Whether the value is an integer of any width (bool excluded).</summary>
    public bool IsInteger => Type is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    /// <summary>An integer value of any width, widened; null for other types or a UInt64 above long.MaxValue.</summary>
    public long? AsInt64() => Value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => null,
    };

    /// <summary>A float or integer value as double; null for other types.</summary>
    public double? AsDouble() => Value switch
    {
        float v => v,
        double v => v,
        ulong v => v,
        _ => AsInt64(),
    };

    public bool Equals(GgufValue? other) =>
        other is not null && other.Type == Type && (Value is GgufArray a ? a.Equals(other.Value as GgufArray) : ScalarEquals(Value, other.Value));

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => Value.GetHashCode();

    /// <summary>Compact display form: strings quoted, arrays summarised.</summary>
    public override string ToString() => Format(Value);

    /// <summary>Display form of one scalar or string item: strings quoted and escaped, floats round-trippable.</summary>
    public static string Format(object value) => value switch
    {
        string s => Quote(s),
        float f => f.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e'),
        double d => d.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e'),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    internal static bool ScalarEquals(object a, object b) => a switch
    {
        // Floats compare by bits: a file round trip must preserve NaN payloads and -0.
        float x => b is float y && BitConverter.ToInt32(BitConverter.GetBytes(x), 0) == BitConverter.ToInt32(BitConverter.GetBytes(y), 0),
        double x => b is double y && BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y),
        _ => a.Equals(b),
    };

    private static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (char c in s)
        {
            _ = c switch
            {
                '"' => sb.Append("\\\""),
                '\\' => sb.Append("\\\\"),
                '\n' => sb.Append("\\n"),
                '\r' => sb.Append("\\r"),
                '\t' => sb.Append("\\t"),
                < ' ' => sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => sb.Append(c),
            };
        }

        return sb.Append('"').ToString();
    }
}
