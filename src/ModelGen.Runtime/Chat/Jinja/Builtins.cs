using System.Globalization;
using System.Text;

namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>A call's evaluated arguments, and binding them to a builtin's parameters by position or name.</summary>
internal sealed class CallArguments(Interpreter interpreter, string callee, List<object?> positional, List<(string Name, object? Value)> named)
{
    /// <summary>What a parameter that was not passed binds to.</summary>
    public static readonly object Missing = new();

    public Interpreter Interpreter => interpreter;

    public string Callee => callee;

    public List<object?> Positional => positional;

    public List<(string Name, object? Value)> Named => named;

    /// <summary>The arguments in the order of <paramref name="parameters"/>, <see cref="Missing"/> where not passed.</summary>
    public Bound Bind(params string[] parameters)
    {
        if (positional.Count > parameters.Length)
        {
            throw interpreter.Fail($"{callee} takes at most {parameters.Length} arguments, {positional.Count} given");
        }

        var values = new object?[parameters.Length];
        Array.Fill(values, Missing);
        positional.CopyTo(values);
        foreach (var (name, value) in named)
        {
            int i = Array.IndexOf(parameters, name);
            if (i < 0)
            {
                throw interpreter.Fail($"{callee} has no parameter '{name}'");
            }

            values[i] = value;
        }

        return new Bound(this, parameters, values);
    }

    /// <summary>Arguments bound to parameters, with typed access.</summary>
    public readonly struct Bound(CallArguments call, string[] names, object?[] values)
    {
        public bool Has(int i) => values[i] != Missing;

        public object? Value(int i, object? fallback = null) => Has(i) ? values[i] : fallback;

        public object? Required(int i) => Has(i) ? values[i] : throw call.Interpreter.Fail($"{call.Callee} needs the argument '{names[i]}'");

        public string? Text(int i, string? fallback) => Value(i, fallback) switch
        {
            null => null,
            string s => s,
            var other => throw call.Interpreter.Fail($"{call.Callee}: '{names[i]}' must be a string, not {Values.Describe(other)}"),
        };

        public string RequiredText(int i) => Required(i) as string
            ?? throw call.Interpreter.Fail($"{call.Callee}: '{names[i]}' must be a string, not {Values.Describe(values[i])}");

        public long Integer(int i, long fallback) => Value(i, fallback) switch
        {
            long n => n,
            bool b => b ? 1 : 0,
            null => fallback,
            var other => throw call.Interpreter.Fail($"{call.Callee}: '{names[i]}' must be an integer, not {Values.Describe(other)}"),
        };

        public bool Flag(int i, bool fallback) => Has(i) ? Values.IsTruthy(values[i]) : fallback;
    }
}

/// <summary>
/// What templates may call: the filters, tests, global functions, and the methods of strings, dicts and
/// <c>loop</c> that chat templates use. Anything else is an error naming it.
/// </summary>
internal static class Builtins
{
    private static readonly HashSet<string> StringMethods =
        ["strip", "lstrip", "rstrip", "split", "startswith", "endswith", "upper", "lower", "title", "capitalize", "replace"];

    private static readonly HashSet<string> DictMethods = ["items", "keys", "values", "get"];

    public static IReadOnlyDictionary<string, BuiltinFunction> Globals { get; } = new Dictionary<string, BuiltinFunction>
    {
        ["range"] = new(Range),
        ["namespace"] = new(NewNamespace),
        ["dict"] = new(NewDict),
        ["raise_exception"] = new(RaiseException),
        ["strftime_now"] = new(StrftimeNow),
    };

    public static object? GetAttribute(Interpreter it, object? target, string name) => target switch
    {
        Undefined undefined => throw it.Fail(undefined.Description),
        OrderedDictionary<string, object?> when DictMethods.Contains(name) => new BoundMethod(target, name),
        OrderedDictionary<string, object?> dict => dict.TryGetValue(name, out var value) ? value : new Undefined($"'dict object' has no attribute '{name}'"),
        string when StringMethods.Contains(name) => new BoundMethod(target, name),
        Namespace ns => ns.Attributes.TryGetValue(name, out var value) ? value : new Undefined($"the namespace has no attribute '{name}'"),
        LoopContext loop => loop.Get(name),
        _ => new Undefined($"'{Values.TypeName(target)} object' has no attribute '{name}'"),
    };

    public static object? GetItem(Interpreter it, object? target, object? key)
    {
        switch (target, key)
        {
            case (Undefined undefined, _):
                throw it.Fail(undefined.Description);
            case (OrderedDictionary<string, object?> dict, string name):
                return dict.TryGetValue(name, out var value) ? value : new Undefined($"'dict object' has no attribute '{name}'");
            case (List<object?> list, long or bool):
                long index = Values.Normalize(key) is long n ? n : 0;
                index = index < 0 ? index + list.Count : index;
                return index >= 0 && index < list.Count ? list[(int)index] : new Undefined($"list index {key} out of range");
            case (string s, long or bool):
                return Strings.CodePointAt(s, (long)Values.Normalize(key)!, it) ?? (object)new Undefined($"string index {key} out of range");
            case (Namespace or LoopContext, string name):
                return GetAttribute(it, target, name);
            default:
                return new Undefined($"'{Values.TypeName(target)} object' has no item {Values.Repr(key, it)}");
        }
    }

    public static object? Slice(Interpreter it, object? target, object? start, object? stop, object? step)
    {
        long? Index(object? value, string part) => value switch
        {
            null => null,
            long n => n,
            bool b => b ? 1 : 0,
            _ => throw it.Fail($"slice {part} must be an integer or none, not {Values.Describe(value)}"),
        };

        long stride = Index(step, "step") ?? 1;
        if (stride == 0)
        {
            throw it.Fail("slice step cannot be zero");
        }

        switch (target)
        {
            case List<object?> list:
                return it.Produced(Strings.SliceIndices(list.Count, Index(start, "start"), Index(stop, "stop"), stride).Select(i => list[i]).ToList());
            case string s:
                return Strings.Slice(s, Index(start, "start"), Index(stop, "stop"), stride, it);
            case Undefined undefined:
                throw it.Fail(undefined.Description);
            default:
                throw it.Fail($"cannot slice {Values.Describe(target)}");
        }
    }

    public static object? CallMethod(BoundMethod method, CallArguments call)
    {
        var it = call.Interpreter;
        switch (method.Target)
        {
            case string s:
                return StringMethod(s, method.Name, call);
            case OrderedDictionary<string, object?> dict:
                switch (method.Name)
                {
                    case "items":
                        call.Bind();
                        return Items(it, dict);
                    case "keys":
                        call.Bind();
                        return it.Produced(dict.Keys.Select(k => (object?)k).ToList());
                    case "values":
                        call.Bind();
                        return it.Produced(dict.Values.ToList());
                    default:
                        var get = call.Bind("key", "default");
                        return get.Required(0) is string key && dict.TryGetValue(key, out var value) ? value : get.Value(1);
                }

            case LoopContext loop:
                if (call.Positional.Count == 0)
                {
                    throw it.Fail("loop.cycle needs at least one value");
                }

                return call.Positional[loop.Index0 % call.Positional.Count];
            default:
                throw it.Fail($"{Values.TypeName(method.Target)} has no method '{method.Name}'");
        }
    }

    private static object? StringMethod(string s, string name, CallArguments call)
    {
        var it = call.Interpreter;
        switch (name)
        {
            case "strip" or "lstrip" or "rstrip":
                var chars = call.Bind("chars").Text(0, null)?.ToCharArray();
                return name switch
                {
                    "strip" => chars is null ? s.Trim() : s.Trim(chars),
                    "lstrip" => chars is null ? s.TrimStart() : s.TrimStart(chars),
                    _ => chars is null ? s.TrimEnd() : s.TrimEnd(chars),
                };
            case "split":
                var split = call.Bind("sep", "maxsplit");
                var separator = split.Text(0, null);
                if (separator is "")
                {
                    throw it.Fail("split: empty separator");
                }

                return it.Produced(Strings.Split(s, separator, split.Integer(1, -1)));
            case "startswith" or "endswith":
                var affix = call.Bind("prefix").Required(0);
                var candidates = affix is List<object?> list ? list : [affix];
                return candidates.Any(c => c is string text
                    ? (name == "startswith" ? s.StartsWith(text, StringComparison.Ordinal) : s.EndsWith(text, StringComparison.Ordinal))
                    : throw it.Fail($"{name} takes a string or a tuple of strings, not {Values.Describe(c)}"));
            case "upper":
                call.Bind();
                return s.ToUpperInvariant();
            case "lower":
                call.Bind();
                return s.ToLowerInvariant();
            case "title":
                call.Bind();
                return Strings.Title(s);
            case "capitalize":
                call.Bind();
                return Strings.Capitalize(s);
            default:
                var replace = call.Bind("old", "new", "count");
                return Strings.Replace(it, s, replace.RequiredText(0), replace.RequiredText(1), replace.Integer(2, -1));
        }
    }

    private static List<object?> Items(Interpreter it, OrderedDictionary<string, object?> dict) =>
        it.Produced(dict.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList());

    // Global functions.

    private static object? Range(CallArguments call)
    {
        var it = call.Interpreter;
        var range = call.Bind("start", "stop", "step");
        long start = 0, stop, step = range.Integer(2, 1);
        if (range.Has(1))
        {
            start = range.Integer(0, 0);
            stop = range.Integer(1, 0);
        }
        else
        {
            stop = range.Integer(0, 0);
        }

        if (step == 0)
        {
            throw it.Fail("range() step cannot be zero");
        }

        // In 128 bits: range(-2**63, 2**63 - 1) must not wrap around to an empty list.
        var count = step > 0 ? ((Int128)stop - start + step - 1) / step : ((Int128)start - stop - step - 1) / -step;
        if (count > it.Limits.MaxListLength)
        {
            throw it.Fail($"a list grew longer than {it.Limits.MaxListLength} items");
        }

        var items = new List<object?>((int)Int128.Max(count, 0));
        for (long i = 0; i < count; i++)
        {
            items.Add(start + (i * step));
        }

        return it.Produced(items);
    }

    private static object? NewNamespace(CallArguments call)
    {
        var ns = new Namespace();
        foreach (var initial in call.Positional)
        {
            if (initial is not OrderedDictionary<string, object?> dict)
            {
                throw call.Interpreter.Fail($"namespace() takes a dict or named arguments, not {Values.Describe(initial)}");
            }

            foreach (var (key, value) in dict)
            {
                ns.Attributes[key] = value;
            }
        }

        foreach (var (name, value) in call.Named)
        {
            ns.Attributes[name] = value;
        }

        return ns;
    }

    private static object? NewDict(CallArguments call)
    {
        var dict = new OrderedDictionary<string, object?>();
        foreach (var initial in call.Positional)
        {
            if (initial is not OrderedDictionary<string, object?> other)
            {
                throw call.Interpreter.Fail($"dict() takes a dict or named arguments, not {Values.Describe(initial)}");
            }

            foreach (var (key, value) in other)
            {
                dict[key] = value;
            }
        }

        foreach (var (name, value) in call.Named)
        {
            dict[name] = value;
        }

        return dict;
    }

    private static object? RaiseException(CallArguments call)
    {
        var message = Values.ToText(call.Bind("message").Value(0, "raise_exception was called"), call.Interpreter);
        throw new TemplateException(message, call.Interpreter.Line) { IsRaisedByTemplate = true };
    }

    private static object? StrftimeNow(CallArguments call)
    {
        var format = call.Bind("format").RequiredText(0);
        return call.Interpreter.Produced(Strftime(call.Interpreter, format, call.Interpreter.Clock()));
    }

    /// <summary>Python's <c>strftime</c> for the directives chat templates use, <c>%-d</c> (no padding) included.</summary>
    private static string Strftime(Interpreter it, string format, DateTimeOffset time)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            bool unpadded = format[i + 1] == '-' && i + 2 < format.Length;
            char directive = format[i + (unpadded ? 2 : 1)];
            i += unpadded ? 2 : 1;
            string Number(int value, int width) => value.ToString(unpadded ? "0" : new string('0', width), c);
            sb.Append(directive switch
            {
                'Y' => time.Year.ToString(c),
                'y' => Number(time.Year % 100, 2),
                'm' => Number(time.Month, 2),
                'd' => Number(time.Day, 2),
                'e' => time.Day.ToString(c).PadLeft(unpadded ? 0 : 2),
                'H' => Number(time.Hour, 2),
                'I' => Number(time.Hour % 12 == 0 ? 12 : time.Hour % 12, 2),
                'M' => Number(time.Minute, 2),
                'S' => Number(time.Second, 2),
                'j' => Number(time.DayOfYear, 3),
                'p' => time.Hour < 12 ? "AM" : "PM",
                'b' => time.ToString("MMM", c),
                'B' => time.ToString("MMMM", c),
                'a' => time.ToString("ddd", c),
                'A' => time.ToString("dddd", c),
                'f' => (time.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
                'z' => (time.Offset < TimeSpan.Zero ? "-" : "+") + time.Offset.ToString("hhmm", c),
                '%' => "%",
                _ => throw it.Fail($"strftime_now: the directive %{directive} is not supported"),
            });
        }

        return sb.ToString();
    }

    // Filters.

    public static object? Filter(object? value, CallArguments call)
    {
        var it = call.Interpreter;
        switch (call.Callee)
        {
            case "safe":
                call.Bind();
                return value;
            case "string":
                call.Bind();
                return Values.ToText(value, it);
            case "trim":
                var chars = call.Bind("chars").Text(0, null)?.ToCharArray();
                var text = Text(it, value, "trim");
                return chars is null ? text.Trim() : text.Trim(chars);
            case "upper":
                call.Bind();
                return Text(it, value, "upper").ToUpperInvariant();
            case "lower":
                call.Bind();
                return Text(it, value, "lower").ToLowerInvariant();
            case "capitalize":
                call.Bind();
                return Strings.Capitalize(Text(it, value, "capitalize"));
            case "title":
                call.Bind();
                return Strings.TitleWords(Text(it, value, "title"));
            case "replace":
                var replace = call.Bind("old", "new", "count");
                return Strings.Replace(it, Text(it, value, "replace"), replace.RequiredText(0), replace.RequiredText(1), replace.Integer(2, -1));
            case "length" or "count":
                call.Bind();
                return (long)(value switch
                {
                    string s => Strings.Length(s, it),
                    List<object?> list => list.Count,
                    OrderedDictionary<string, object?> dict => dict.Count,
                    Undefined => 0,
                    _ => throw it.Fail($"{Values.Describe(value)} has no length"),
                });
            case "first":
                call.Bind();
                var forward = it.Iterate(value);
                return forward.Count > 0 ? forward[0] : new Undefined("first: the sequence is empty");
            case "last":
                call.Bind();
                var all = it.Iterate(value);
                return all.Count > 0 ? all[^1] : new Undefined("last: the sequence is empty");
            case "list":
                call.Bind();
                return it.Iterate(value);
            case "reverse":
                call.Bind();
                var reversed = it.Iterate(value);
                reversed.Reverse();
                return value is string ? string.Concat(reversed) : reversed;
            case "items":
                call.Bind();
                return value switch
                {
                    OrderedDictionary<string, object?> dict => Items(it, dict),
                    Undefined => new List<object?>(),
                    _ => throw it.Fail($"items needs a dict, not {Values.Describe(value)}"),
                };
            case "default" or "d":
                var fallback = call.Bind("default_value", "boolean");
                bool useFallback = value is Undefined || (fallback.Flag(1, false) && !Values.IsTruthy(value));
                return useFallback ? fallback.Value(0, "") : value;
            case "join":
                var join = call.Bind("d", "attribute");
                var separator = join.Text(0, "")!;
                var attribute = join.Value(1);
                var parts = it.Iterate(value).Select(item => Values.ToText(attribute is null ? item : Attribute(it, item, attribute), it));
                return it.Produced(string.Join(separator, parts));
            case "int":
                var toInt = call.Bind("default");
                return ToInteger(value, toInt.Value(0, 0L));
            case "float":
                var toFloat = call.Bind("default");
                return ToFloat(value, toFloat.Value(0, 0.0));
            case "abs":
                call.Bind();
                return Values.Normalize(value) switch
                {
                    long n => n == long.MinValue ? throw it.Fail("integer overflow in abs") : (object)Math.Abs(n),
                    double d => Math.Abs(d),
                    _ => throw it.Fail($"abs needs a number, not {Values.Describe(value)}"),
                };
            case "round":
                var round = call.Bind("precision", "method");
                int digits = (int)Math.Clamp(round.Integer(0, 0), 0, 15);
                var mode = round.Text(1, "common") switch
                {
                    // Python's round(), which Jinja's "common" calls, rounds halves to even.
                    "common" => MidpointRounding.ToEven,
                    "ceil" => MidpointRounding.ToPositiveInfinity,
                    "floor" => MidpointRounding.ToNegativeInfinity,
                    var other => throw it.Fail($"round: unknown method '{other}'"),
                };
                return Values.IsNumber(value) ? Math.Round(Values.AsDouble(value), digits, mode) : throw it.Fail($"round needs a number, not {Values.Describe(value)}");
            case "tojson":
                var json = call.Bind("indent", "sort_keys", "ensure_ascii", "separators");
                if (json.Flag(2, false) || json.Value(3) is not null)
                {
                    throw it.Fail("tojson: ensure_ascii and separators are not supported");
                }

                var indent = json.Value(0) switch
                {
                    null => null,
                    long n => new string(' ', (int)Math.Clamp(n, 0, 64)),
                    string s => s,
                    var other => throw it.Fail($"tojson: indent must be an integer or a string, not {Values.Describe(other)}"),
                };
                var sb = new StringBuilder();
                Values.AppendJson(sb, value, indent, json.Flag(1, false), 0, it);
                return it.Produced(sb.ToString());
            case "indent":
                var indentation = call.Bind("width", "first", "blank");
                var pad = indentation.Value(0, 4L) is string padText ? padText : new string(' ', (int)Math.Clamp(indentation.Integer(0, 4), 0, 256));
                return Indent(it, Text(it, value, "indent"), pad, indentation.Flag(1, false), indentation.Flag(2, false));
            case "attr":
                return Attribute(it, value, call.Bind("name").RequiredText(0));
            case "map":
                return Map(it, value, call);
            case "select" or "reject":
                return Select(it, value, call, attribute: null, keep: call.Callee == "select");
            case "selectattr" or "rejectattr":
                if (call.Positional.Count == 0)
                {
                    throw it.Fail($"{call.Callee} needs an attribute name");
                }

                return Select(it, value, call, call.Positional[0], keep: call.Callee == "selectattr");
            case "sort":
                return Sort(it, value, call.Bind("reverse", "case_sensitive", "attribute"));
            default:
                throw it.Fail($"the filter '{call.Callee}' is not supported");
        }
    }

    private static string Text(Interpreter it, object? value, string filter) => value switch
    {
        string s => s,
        Undefined => "",
        _ => throw it.Fail($"{filter} needs a string, not {Values.Describe(value)}"),
    };

    /// <summary>An attribute or key by name, dotted for nested ones (<c>"function.name"</c>), or an index.</summary>
    private static object? Attribute(Interpreter it, object? item, object? attribute)
    {
        if (attribute is long or bool)
        {
            return GetItem(it, item, attribute);
        }

        if (attribute is not string path)
        {
            throw it.Fail($"an attribute name must be a string, not {Values.Describe(attribute)}");
        }

        foreach (var part in path.Split('.'))
        {
            item = item is Undefined ? item : GetItem(it, item, long.TryParse(part, CultureInfo.InvariantCulture, out long i) ? i : part);
        }

        return item;
    }

    private static object? ToInteger(object? value, object? fallback)
    {
        switch (value)
        {
            case long or bool:
                return Values.Normalize(value);
            case double d:
                return double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)d : fallback;
            case string s:
                var trimmed = s.Trim().Replace("_", "", StringComparison.Ordinal);
                if (long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
                {
                    return n;
                }

                return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? ToInteger(parsed, fallback) : fallback;
            default:
                return fallback;
        }
    }

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        long or bool or double => Values.AsDouble(value),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };

    private static string Indent(Interpreter it, string text, string pad, bool first, bool blank)
    {
        var lines = text.Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('\n');
            }

            if ((i > 0 || first) && (blank || lines[i].Trim().Length > 0))
            {
                sb.Append(pad);
            }

            sb.Append(lines[i]);
            if (sb.Length > it.Limits.MaxOutputLength)
            {
                throw it.Fail($"a string grew longer than {it.Limits.MaxOutputLength} characters");
            }
        }

        return it.Produced(sb.ToString());
    }

    private static List<object?> Map(Interpreter it, object? value, CallArguments call)
    {
        var items = it.Iterate(value);
        if (call.Named.Any(n => n.Name == "attribute"))
        {
            var map = call.Bind("attribute", "default");
            var attribute = map.Required(0);
            return items.Select(item =>
            {
                var mapped = Attribute(it, item, attribute);
                return mapped is Undefined && map.Has(1) ? map.Value(1) : mapped;
            }).ToList();
        }

        if (call.Positional.Count == 0 || call.Positional[0] is not string filter)
        {
            throw it.Fail("map needs a filter name or attribute=");
        }

        var rest = new CallArguments(it, filter, call.Positional.Skip(1).ToList(), call.Named);
        return items.Select(item =>
        {
            it.Step();
            return Filter(item, rest);
        }).ToList();
    }

    /// <summary>select, reject, selectattr, rejectattr: the items whose (attribute's) test passes, or fails.</summary>
    private static List<object?> Select(Interpreter it, object? value, CallArguments call, object? attribute, bool keep)
    {
        int skip = attribute is null ? 0 : 1;
        string? test = call.Positional.Count > skip ? call.Positional[skip] as string ?? throw it.Fail($"{call.Callee}: the test name must be a string") : null;
        var testCall = new CallArguments(it, test ?? "", call.Positional.Skip(skip + 1).ToList(), call.Named);
        return it.Iterate(value).Where(item =>
        {
            it.Step();
            var subject = attribute is null ? item : Attribute(it, item, attribute);
            bool passed = test is null ? Values.IsTruthy(subject) : Test(subject, testCall);
            return passed == keep;
        }).ToList();
    }

    private static List<object?> Sort(Interpreter it, object? value, CallArguments.Bound sort)
    {
        var items = it.Iterate(value);
        bool caseSensitive = sort.Flag(1, false);
        var attribute = sort.Value(2);
        var keys = items.Select(item =>
        {
            var key = attribute is null ? item : Attribute(it, item, attribute);
            return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
        }).ToList();
        bool allText = keys.All(k => k is string);
        if (!allText && !keys.All(Values.IsNumber))
        {
            throw it.Fail("sort needs items that are all strings or all numbers");
        }

        it.Step(items.Count);
        var byKey = Comparer<int>.Create((a, b) => Values.Compare(keys[a], keys[b], it)!.Value);
        var positions = Enumerable.Range(0, items.Count);
        // Python's reverse=True keeps equal items in their original order, as OrderByDescending does.
        var order = sort.Flag(0, false) ? positions.OrderByDescending(i => i, byKey) : positions.OrderBy(i => i, byKey);
        return order.Select(i => items[i]).ToList();
    }

    // Tests.

    public static bool Test(object? value, CallArguments call)
    {
        var it = call.Interpreter;
        object? Other() => call.Bind("other").Required(0);
        switch (call.Callee)
        {
            case "defined":
                return value is not Undefined;
            case "undefined":
                return value is Undefined;
            case "none":
                return value is null;
            case "string":
                return value is string;
            case "number":
                return Values.IsNumber(value);
            case "integer":
                return value is long;
            case "float":
                return value is double;
            case "boolean":
                return value is bool;
            case "true":
                return value is true;
            case "false":
                return value is false;
            case "mapping":
                return value is OrderedDictionary<string, object?>;
            case "iterable":
                return value is string or List<object?> or OrderedDictionary<string, object?> or Undefined;
            case "sequence":
                return value is string or List<object?> or OrderedDictionary<string, object?>;
            case "callable":
                return value is Macro or BuiltinFunction or BoundMethod;
            case "odd" or "even":
                return Values.Normalize(value) is long n ? (n % 2 != 0) == (call.Callee == "odd") : throw it.Fail($"{call.Callee} needs an integer, not {Values.Describe(value)}");
            case "divisibleby":
                long divisor = call.Bind("num").Integer(0, 1);
                return Values.Normalize(value) is long dividend && divisor != 0
                    ? dividend % divisor == 0
                    : throw it.Fail("divisibleby needs an integer and a non-zero divisor");
            case "eq" or "equalto" or "==":
                return Values.Equals(value, Other(), it);
            case "ne" or "!=":
                return !Values.Equals(value, Other(), it);
            case "lt" or "lessthan" or "<":
                return Operators.Compare(it, "<", value, Other());
            case "le" or "<=":
                return Operators.Compare(it, "<=", value, Other());
            case "gt" or "greaterthan" or ">":
                return Operators.Compare(it, ">", value, Other());
            case "ge" or ">=":
                return Operators.Compare(it, ">=", value, Other());
            case "in":
                return Operators.Contains(it, Other(), value);
            case "sameas":
                var other = Other();
                return value is null or bool ? Equals(value, other) : ReferenceEquals(value, other);
            case "lower":
                return value is string lower && lower == lower.ToLowerInvariant();
            case "upper":
                return value is string upper && upper == upper.ToUpperInvariant();
            default:
                throw it.Fail($"the test '{call.Callee}' is not supported");
        }
    }
}
