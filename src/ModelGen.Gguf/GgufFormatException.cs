namespace ModelGen.Gguf;

/// <summary>
/// A GGUF file that is malformed, truncated or hostile. The message names the file, the field and the byte offset;
/// what it quotes of the file is escaped and cut (<see cref="DisplayText"/>), so a hostile key cannot flood or steer a
/// terminal through it.
/// </summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException(string source, string field, long offset, string problem)
        : base($"{DisplayText.Escape(source)}: {DisplayText.Escape(field)} at byte {offset}: {DisplayText.Escape(problem)}")
    {
        Source = source;
        Field = field;
        Offset = offset;
        Problem = problem;
    }

    /// <summary>The file (or stream name) that was being read.</summary>
    public new string Source { get; }

    /// <summary>The field being read, e.g. <c>tensor 'blk.0.attn_q.weight' type</c>.</summary>
    public string Field { get; }

    /// <summary>Byte offset of the field in the file.</summary>
    public long Offset { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
