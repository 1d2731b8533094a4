using System.Globalization;
using System.Text;

namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>
/// The values a template works with, and Python's rules for them. A value is one of: null (<c>none</c>),
/// <see cref="Undefined"/>, <see cref="bool"/>, <see cref="long"/>, <see cref="double"/>, <see cref="string"/>,
/// <see cref="List{T}"/> of values (lists and tuples), <see cref="OrderedDictionary{TKey, TValue}"/> with string keys
/// (dicts, in insertion order), or one of the template's own objects below. Nothing else reaches a template, so a
/// template can touch no .NET member beyond what the builtins expose.
/// </summary>
internal static class Values
{
    public static bool IsTruthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long n => n != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        OrderedDictionary<string, object?> dict => dict.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? value) => value is long or double or bool;

    /// <summary>A number as Python widens it: bool to int, int to float.</summary>
    public static double AsDouble(object? value) => value switch
    {
        long n => n,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException("not a number"),
    };

    public static object? Normalize(object? value) => value is bool b ? (b ? 1L : 0L) : value;

    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        Undefined => "undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        OrderedDictionary<string, object?> => "dict",
        Namespace => "namespace",
        LoopContext => "loop",
        Macro => "macro",
        BuiltinFunction or BoundMethod => "function",
        _ => value.GetType().Name,
    };

    /// <summary>The type of <paramref name="value"/> with its article, for messages: "an int", "a string", "none".</summary>
    public static string Describe(object? value) => value switch
    {
        null => "none",
        Undefined => "an undefined value",
        long => "an int",
        string => "a string",
        _ => "a " + TypeName(value),
    };

    /// <summary>Python's <c>==</c>; each element compared is a step, and nesting is bounded (a namespace may hold itself).</summary>
    public static bool Equals(object? a, object? b, Interpreter it, int depth = 0)
    {
        it.Step();
        if (a is List<object?> or OrderedDictionary<string, object?> && ReferenceEquals(a, b))
        {
            // Python compares a container with itself by identity too.
            return true;
        }

        switch (a, b)
        {
            case (null, null):
                return true;
            case (Undefined, Undefined):
                return true;
            case (string x, string y):
                return string.Equals(x, y, StringComparison.Ordinal);
            case (long x, long y):
                return x == y;
            case (bool x, bool y):
                return x == y;
            case (List<object?> x, List<object?> y):
                if (x.Count != y.Count)
                {
                    return false;
                }

                CheckDepth(it, depth);
                for (int i = 0; i < x.Count; i++)
                {
                    if (!Equals(x[i], y[i], it, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            case (OrderedDictionary<string, object?> x, OrderedDictionary<string, object?> y):
                if (x.Count != y.Count)
                {
                    return false;
                }

                CheckDepth(it, depth);
                foreach (var (key, value) in x)
                {
                    if (!y.TryGetValue(key, out var other) || !Equals(value, other, it, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return IsNumber(a) && IsNumber(b) ? AsDouble(a) == AsDouble(b) : ReferenceEquals(a, b);
        }
    }

    private static void CheckDepth(Interpreter it, int depth)
    {
        if (depth >= it.Limits.MaxDepth)
        {
            throw it.Fail($"a value nests more than {it.Limits.MaxDepth} deep");
        }
    }

    /// <summary>Python's ordering of two numbers, two strings or two lists; null when they have none.</summary>
    public static int? Compare(object? a, object? b, Interpreter it, int depth = 0)
    {
        it.Step();
        switch (a, b)
        {
            case (string x, string y):
                return Math.Sign(string.CompareOrdinal(x, y));
            case (long x, long y):
                return x.CompareTo(y);
            case (List<object?> x, List<object?> y):
                CheckDepth(it, depth);
                for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
                {
                    if (!Equals(x[i], y[i], it, depth + 1))
                    {
                        return Compare(x[i], y[i], it, depth + 1);
                    }
                }

                return x.Count.CompareTo(y.Count);
            default:
                return IsNumber(a) && IsNumber(b) ? AsDouble(a).CompareTo(AsDouble(b)) : null;
        }
    }

    /// <summary>Python's <c>str()</c>, which is what <c>{{ }}</c> prints; undefined prints nothing.</summary>
    public static string ToText(object? value, Interpreter it) => value switch
    {
        string s => s,
        Undefined => "",
        null => "None",
        bool b => b ? "True" : "False",
        long n => n.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        _ => it.Produced(Repr(value, it)),
    };

    /// <summary>Python's <c>repr()</c>, used for values inside lists and dicts, bounded in length and depth.</summary>
    public static string Repr(object? value, Interpreter it)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, value, it, 0);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? value, Interpreter it, int depth)
    {
        it.Step();
        if (sb.Length > it.Limits.MaxOutputLength)
        {
            throw it.Fail($"a string grew longer than {it.Limits.MaxOutputLength} characters");
        }

        switch (value)
        {
            case null:
                sb.Append("None");
                break;
            case Undefined:
                break;
            case bool b:
                sb.Append(b ? "True" : "False");
                break;
            case long n:
                sb.Append(n.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(FloatRepr(d));
                break;
            case string s:
                AppendStringRepr(sb, s);
                break;
            case List<object?> list:
                CheckDepth(it, depth);
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    sb.Append(i > 0 ? ", " : "");
                    AppendRepr(sb, list[i], it, depth + 1);
                }

                sb.Append(']');
                break;
            case OrderedDictionary<string, object?> dict:
                CheckDepth(it, depth);
                sb.Append('{');
                bool firstPair = true;
                foreach (var (key, item) in dict)
                {
                    sb.Append(firstPair ? "" : ", ");
                    firstPair = false;
                    AppendStringRepr(sb, key);
                    sb.Append(": ");
                    AppendRepr(sb, item, it, depth + 1);
                }

                sb.Append('}');
                break;
            case Namespace ns:
                CheckDepth(it, depth);
                sb.Append("<Namespace");
                foreach (var (key, item) in ns.Attributes)
                {
                    sb.Append(' ').Append(key).Append('=');
                    AppendRepr(sb, item, it, depth + 1);
                }

                sb.Append('>');
                break;
            default:
                sb.Append('<').Append(TypeName(value)).Append('>');
                break;
        }
    }

    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d))
        {
            return "nan";
        }

        if (double.IsInfinity(d))
        {
            return d > 0 ? "inf" : "-inf";
        }

        var text = d.ToString("R", CultureInfo.InvariantCulture);
        int e = text.IndexOf('E');
        if (e >= 0)
        {
            // Python writes the exponent with a sign and at least two digits: 1e-05, 1e+16.
            var exponent = int.Parse(text.AsSpan(e + 1), CultureInfo.InvariantCulture);
            return text[..e] + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }

        return text.Contains('.') ? text : text + ".0";
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ' or '\x7f': sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default:
                    if (c == quote)
                    {
                        sb.Append('\\');
                    }

                    sb.Append(c);
                    break;
            }
        }

        sb.Append(quote);
    }

    /// <summary>
    /// Python's <c>json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sortKeys)</c>, which is what
    /// Hugging Face's <c>tojson</c> gives: <c>", "</c> and <c>": "</c> between items, or <c>","</c> and a new line
    /// when indented.
    /// </summary>
    public static void AppendJson(StringBuilder sb, object? value, string? indent, bool sortKeys, int level, Interpreter it)
    {
        it.Step();
        if (sb.Length > it.Limits.MaxOutputLength)
        {
            throw it.Fail($"a string grew longer than {it.Limits.MaxOutputLength} characters");
        }

        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case long n:
                sb.Append(n.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : FloatRepr(d));
                break;
            case string s:
                AppendJsonString(sb, s);
                break;
            case List<object?> list:
                CheckDepth(it, level);
                AppendJsonItems(sb, '[', ']', list, indent, level, (item, _) => AppendJson(sb, item, indent, sortKeys, level + 1, it));
                break;
            case OrderedDictionary<string, object?> dict:
                CheckDepth(it, level);
                var pairs = sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal).ToList() : dict.ToList();
                AppendJsonItems(sb, '{', '}', pairs, indent, level, (pair, _) =>
                {
                    AppendJsonString(sb, pair.Key);
                    sb.Append(": ");
                    AppendJson(sb, pair.Value, indent, sortKeys, level + 1, it);
                });
                break;
            case Namespace ns:
                CheckDepth(it, level);
                AppendJson(sb, ns.Attributes, indent, sortKeys, level + 1, it);
                break;
            default:
                throw it.Fail($"tojson cannot write a value of type {TypeName(value)}");
        }
    }

    private static void AppendJsonItems<T>(StringBuilder sb, char open, char close, IReadOnlyList<T> items, string? indent, int level, Action<T, int> appendItem)
    {
        sb.Append(open);
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(indent is null ? ", " : ",");
            }

            if (indent is not null)
            {
                sb.Append('\n');
                sb.Insert(sb.Length, indent, level + 1);
            }

            appendItem(items[i], i);
        }

        if (indent is not null && items.Count > 0)
        {
            sb.Append('\n');
            sb.Insert(sb.Length, indent, level);
        }

        sb.Append(close);
    }

    private static void AppendJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case < ' ': sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }

        sb.Append('"');
    }
}

/// <summary>
/// Jinja's default undefined value: what a missing variable, attribute, key or index gives. It is false, prints as
/// nothing and iterates as empty; anything else done with it (an attribute, arithmetic, a call) is an error that
/// says what was undefined.
/// </summary>
internal sealed class Undefined(string description)
{
    /// <summary>Why it is undefined, as Jinja says it: <c>'tools' is undefined</c>.</summary>
    public string Description { get; } = description;
}

/// <summary><c>namespace(...)</c>: the one object whose attributes a template may assign, across loop scopes.</summary>
internal sealed class Namespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = [];
}

/// <summary>The <c>loop</c> variable inside a for loop.</summary>
internal sealed class LoopContext(List<object?> items)
{
    public int Index0 { get; set; }

    public object? Get(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)Index0 + 1,
        "revindex0" => (long)(items.Count - Index0 - 1),
        "revindex" => (long)(items.Count - Index0),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 + 1 < items.Count ? items[Index0 + 1] : new Undefined("there is no next item"),
        "cycle" => new BoundMethod(this, name),
        _ => new Undefined($"the loop has no attribute '{name}'"),
    };
}

/// <summary>A macro defined by the template, with the scope it was defined in.</summary>
internal sealed class Macro(MacroNode definition, Scope scope)
{
    public MacroNode Definition { get; } = definition;

    public Scope Scope { get; } = scope;
}

/// <summary>A global function such as <c>range</c> or <c>raise_exception</c>.</summary>
internal sealed class BuiltinFunction(Func<CallArguments, object?> invoke)
{
    public object? Invoke(CallArguments arguments) => invoke(arguments);
}

/// <summary>A method of a string, dict or loop, taken as an attribute: <c>text.strip</c>, <c>message.items</c>.</summary>
internal sealed record BoundMethod(object Target, string Name);

/// <summary>Variables visible at a point of the template: a block's own, then its enclosing scopes'.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public bool TryGet(string name, out object? value)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out value))
            {
                return true;
            }
        }

        value = null;
        return false;
    }

    public void Set(string name, object? value) => _variables[name] = value;
}
