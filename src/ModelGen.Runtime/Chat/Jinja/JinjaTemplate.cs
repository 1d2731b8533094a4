namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>
/// A Jinja2 template, parsed once and rendered as Hugging Face renders chat templates (<c>trim_blocks</c> and
/// <c>lstrip_blocks</c> on, no autoescaping, <c>raise_exception</c> and <c>strftime_now</c> defined), for the subset
/// of Jinja that chat templates use; docs/DESIGN.md lists it. Templates are untrusted data: every error, and work
/// beyond <see cref="TemplateLimits"/>, is a <see cref="TemplateException"/> naming the template's line.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Node> _body;
    private readonly TemplateLimits _limits;

    private JinjaTemplate(IReadOnlyList<Node> body, TemplateLimits limits)
    {
        _body = body;
        _limits = limits;
    }

    /// <summary>Parses <paramref name="source"/>.</summary>
    /// <exception cref="TemplateException">The template is malformed, uses a statement this subset lacks, or nests too deep.</exception>
    public static JinjaTemplate Parse(string source, TemplateLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        limits ??= TemplateLimits.Default;
        return new JinjaTemplate(Parser.Parse(source, limits), limits);
    }

    /// <summary>
    /// Renders the template with <paramref name="variables"/> as its globals. A variable is null, a string, a bool, an
    /// integer, a floating-point number, a list of variables (any <see cref="IEnumerable{T}"/> but a string) or a
    /// dictionary with string keys (<see cref="IEnumerable{T}"/> of <see cref="KeyValuePair{TKey, TValue}"/>, in
    /// its order); names not given are undefined.
    /// </summary>
    /// <param name="variables">The template's global variables.</param>
    /// <param name="clock">What <c>strftime_now</c> reads; the local time when null.</param>
    /// <exception cref="TemplateException">Rendering failed or went over a limit; the template may also raise it itself.</exception>
    /// <exception cref="ArgumentException">A variable holds a value of another type, or nests deeper than the limit.</exception>
    public string Render(IEnumerable<KeyValuePair<string, object?>> variables, Func<DateTimeOffset>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new Scope(null);
        foreach (var (name, value) in variables)
        {
            globals.Set(name, FromHost(value, name, 0));
        }

        return new Interpreter(_limits, clock ?? (() => DateTimeOffset.Now)).Render(_body, globals);
    }

    /// <summary>A .NET value as a template value: copied, so that nothing the template does reaches the caller's objects.</summary>
    private object? FromHost(object? value, string path, int depth)
    {
        if (depth > _limits.MaxDepth)
        {
            throw new ArgumentException($"the template variable {path} nests more than {_limits.MaxDepth} deep", nameof(value));
        }

        switch (value)
        {
            case null or string or bool or long or double:
                return value;
            case int or short or sbyte or byte or ushort or uint:
                return Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            case float f:
                return (double)f;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                var dict = new OrderedDictionary<string, object?>();
                foreach (var (key, item) in pairs)
                {
                    dict[key] = FromHost(item, $"{path}.{key}", depth + 1);
                }

                return dict;
            case System.Collections.IEnumerable items:
                var list = new List<object?>();
                foreach (var item in items)
                {
                    list.Add(FromHost(item, $"{path}[{list.Count}]", depth + 1));
                }

                return list;
            default:
                throw new ArgumentException($"the template variable {path} is a {value.GetType().Name}, which templates cannot use", nameof(value));
        }
    }
}
