namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>
/// Bounds on the work a template may do. Templates come from model files, which are untrusted data: past a bound,
/// parsing or rendering stops with a <see cref="TemplateException"/> rather than running long or taking memory.
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>The default limits: far above what real chat templates need for long conversations.</summary>
    public static TemplateLimits Default { get; } = new();

    /// <summary>Longest rendered text, and longest string any expression may build, in UTF-16 code units.</summary>
    public int MaxOutputLength { get; init; } = 4 << 20;

    /// <summary>
    /// Evaluation steps: each statement, expression node, loop iteration and macro call is one, and so is every 16
    /// characters a string operation produces and every item of a list it builds. This also bounds what rendering
    /// allocates, to about 64 MiB of strings and as much of lists at the default.
    /// </summary>
    public long MaxSteps { get; init; } = 2_000_000;

    /// <summary>Deepest nesting of blocks and expressions in the source, and of macro calls while rendering.</summary>
    public int MaxDepth { get; init; } = 100;

    /// <summary>Most elements a list built by the template (range, repetition, concatenation) may have.</summary>
    public int MaxListLength { get; init; } = 100_000;
}
