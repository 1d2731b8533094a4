namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>Python's arithmetic, comparisons and <c>in</c> on template values, with overflow and size checked.</summary>
internal static class Operators
{
    public static object? Binary(Interpreter it, string op, object? a, object? b)
    {
        if (op == "~")
        {
            return it.Produced(Values.ToText(a, it) + Values.ToText(b, it));
        }

        if (a is Undefined ua)
        {
            throw it.Fail(ua.Description);
        }

        if (b is Undefined ub)
        {
            throw it.Fail(ub.Description);
        }

        try
        {
            return (op, Values.Normalize(a), Values.Normalize(b)) switch
            {
                ("+", long x, long y) => checked(x + y),
                ("-", long x, long y) => checked(x - y),
                ("*", long x, long y) => checked(x * y),
                ("//", long x, long y) => y == 0 ? throw it.Fail("integer division by zero") : FloorDivide(x, y),
                ("%", long x, long y) => y == 0 ? throw it.Fail("integer modulo by zero") : x - (y * FloorDivide(x, y)),
                ("**", long x, long y) => y >= 0 ? Power(x, y) : (object)Math.Pow(x, y),
                ("/", _, _) when Values.IsNumber(a) && Values.IsNumber(b) => Values.AsDouble(b) == 0 ? throw it.Fail("division by zero") : Values.AsDouble(a) / Values.AsDouble(b),
                (_, _, _) when Values.IsNumber(a) && Values.IsNumber(b) => FloatBinary(it, op, Values.AsDouble(a), Values.AsDouble(b)),
                ("+", string x, string y) => it.Produced(x + y),
                ("+", List<object?> x, List<object?> y) => it.Produced([.. x, .. y]),
                ("*", string s, long n) => Repeat(it, s, n),
                ("*", long n, string s) => Repeat(it, s, n),
                ("*", List<object?> list, long n) => Repeat(it, list, n),
                ("*", long n, List<object?> list) => Repeat(it, list, n),
                _ => throw it.Fail($"unsupported operand types for {op}: {Values.TypeName(a)} and {Values.TypeName(b)}"),
            };
        }
        catch (OverflowException)
        {
            throw it.Fail($"integer overflow in {op}");
        }
    }

    private static long FloorDivide(long x, long y)
    {
        if (x == long.MinValue && y == -1)
        {
            throw new OverflowException();
        }

        long q = x / y;
        return (x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q;
    }

    /// <summary><paramref name="x"/> to a non-negative power: 0, 1 and -1 directly, any other base overflows within 64 steps.</summary>
    private static long Power(long x, long y) => x switch
    {
        0 => y == 0 ? 1 : 0,
        1 => 1,
        -1 => y % 2 == 0 ? 1 : -1,
        _ => RepeatedProduct(x, y),
    };

    private static long RepeatedProduct(long x, long y)
    {
        long result = 1;
        for (; y > 0; y--)
        {
            result = checked(result * x);
        }

        return result;
    }

    private static double FloatBinary(Interpreter it, string op, double x, double y) => op switch
    {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "//" => y == 0 ? throw it.Fail("float floor division by zero") : Math.Floor(x / y),
        "%" => y == 0 ? throw it.Fail("float modulo by zero") : x - (y * Math.Floor(x / y)),
        "**" => Math.Pow(x, y),
        _ => throw it.Fail($"unsupported operator {op}"),
    };

    private static string Repeat(Interpreter it, string s, long n)
    {
        if (n <= 0 || s.Length == 0)
        {
            return "";
        }

        if (n > it.Limits.MaxOutputLength / s.Length)
        {
            throw it.Fail($"a string grew longer than {it.Limits.MaxOutputLength} characters");
        }

        return it.Produced(string.Create(s.Length * (int)n, s, static (span, piece) =>
        {
            for (int i = 0; i < span.Length; i += piece.Length)
            {
                piece.CopyTo(span[i..]);
            }
        }));
    }

    private static List<object?> Repeat(Interpreter it, List<object?> list, long n)
    {
        if (n <= 0 || list.Count == 0)
        {
            return [];
        }

        if (n > it.Limits.MaxListLength / list.Count)
        {
            throw it.Fail($"a list grew longer than {it.Limits.MaxListLength} items");
        }

        var result = new List<object?>((int)n * list.Count);
        for (long i = 0; i < n; i++)
        {
            result.AddRange(list);
        }

        return it.Produced(result);
    }

    public static bool Compare(Interpreter it, string op, object? a, object? b)
    {
        switch (op)
        {
            case "==":
                return Values.Equals(a, b, it);
            case "!=":
                return !Values.Equals(a, b, it);
            case "in":
                return Contains(it, b, a);
            case "not in":
                return !Contains(it, b, a);
        }

        int order = Values.Compare(a, b, it)
            ?? throw it.Fail($"'{op}' is not supported between {Values.TypeName(a)} and {Values.TypeName(b)}");
        return op switch
        {
            "<" => order < 0,
            "<=" => order <= 0,
            ">" => order > 0,
            _ => order >= 0,
        };
    }

    /// <summary>Python's <c>item in container</c>.</summary>
    public static bool Contains(Interpreter it, object? container, object? item)
    {
        switch (container)
        {
            case string s when item is string part:
                it.Step(s.Length >> 6);
                return s.Contains(part, StringComparison.Ordinal);
            case string:
                throw it.Fail($"'in <string>' requires a string on the left, not {Values.Describe(item)}");
            case List<object?> list:
                it.Step(list.Count);
                return list.Any(element => Values.Equals(element, item, it));
            case OrderedDictionary<string, object?> dict:
                return item is string key && dict.ContainsKey(key);
            case Undefined:
                return false;
            default:
                throw it.Fail($"'in' needs a string, list or dict on the right, not {Values.Describe(container)}");
        }
    }
}
