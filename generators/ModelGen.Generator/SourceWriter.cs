using System.Text;

namespace ModelGen.Generator;

/// <summary>
/// Writes C# line by line at the current indentation; <see cref="Block"/> opens a brace scope that closes when its
/// <c>using</c> ends, so the emitter's nesting is the generated code's. Lines end in <c>\n</c> on every platform.
/// </summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Line(string text = "")
    {
        if (text.Length > 0)
        {
            _text.Append(' ', _indent * 4).Append(text);
        }

        _text.Append('\n');
    }

    /// <summary>Writes <paramref name="header"/> (if any) and an opening brace; disposing the scope writes the closing one.</summary>
    public Scope Block(string? header = null, string close = "}")
    {
        if (header is not null)
        {
            Line(header);
        }

        Line("{");
        _indent++;
        return new Scope(this, close);
    }

    public override string ToString() => _text.ToString();

    internal readonly struct Scope(SourceWriter writer, string close) : IDisposable
    {
        public void Dispose()
        {
            writer._indent--;
            writer.Line(close);
        }
    }
}
