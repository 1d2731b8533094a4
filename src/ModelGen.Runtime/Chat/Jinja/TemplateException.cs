namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>
/// A chat template that cannot be parsed or rendered: a syntax error, an unsupported feature, a type error, a call of
/// <c>raise_exception</c>, or a template that went over one of its <see cref="TemplateLimits"/>.
/// </summary>
public sealed class TemplateException : Exception
{
    /// <summary>An error at <paramref name="line"/> (1-based) of the template.</summary>
    public TemplateException(string message, int line)
        : base($"line {line}: {message}")
    {
        Line = line;
        Reason = message;
    }

    /// <summary>The template's line the error is at, 1-based.</summary>
    public int Line { get; }

    /// <summary>What went wrong, without the line.</summary>
    public string Reason { get; }

    /// <summary>Whether the template itself refused the input with <c>raise_exception</c>.</summary>
    public bool IsRaisedByTemplate { get; init; }
}
