using ModelGen.Gguf;

namespace ModelGen.Runtime.Engine;

/// <summary>
/// A well-formed GGUF file the engine cannot run: unknown architecture, hyper-parameters out of range, a missing or
/// mis-shaped tensor, an unsupported type, or a context that would not fit the memory budget.
/// </summary>
public sealed class UnsupportedModelException : Exception
{
    public UnsupportedModelException(string message)
        : base(message) => Problem = message;

    /// <summary>A problem with <paramref name="source"/>; the message is <c>"source: problem"</c>.</summary>
    public UnsupportedModelException(string source, string problem)
        : base($"{DisplayText.Escape(source)}: {problem}") => Problem = problem;

    /// <summary>What is wrong, without the file's name.</summary>
    public string Problem { get; }
}
