using System.Globalization;
using System.Text;

namespace ModelGen.Gguf;

/// <summary>
/// Text that came from a file, made safe to show on a terminal or in a build log: control characters are written as
/// escapes, so that a name cannot move the cursor, clear the screen or forge a line, and long values are cut.
/// </summary>
/// <remarks>
/// Escaped: C0 and C1 controls and DEL (ESC starts terminal sequences), the Unicode line and paragraph separators,
/// and the bidirectional overrides and isolates, which reorder what a reader sees (Trojan Source).
/// </remarks>
public static class DisplayText
{
    /// <summary>Characters a message quotes of one value from a file before cutting it.</summary>
    public const int DefaultMaxLength = 200;

    /// <summary>
    /// <paramref name="text"/> with every unsafe character escaped (<c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\x1b</c>,
    /// <c>\u202e</c>) and cut after <paramref name="maxLength"/> characters with a note of how many were left out.
    /// </summary>
    /// <param name="text">The text to show.</param>
    /// <param name="maxLength">Characters kept at most; <see cref="int.MaxValue"/> keeps all.</param>
    /// <param name="keepLineBreaks">Leave <c>\n</c> and <c>\t</c> as they are (for generated text, which has lines).</param>
    public static string Escape(string text, int maxLength = DefaultMaxLength, bool keepLineBreaks = false)
    {
        int keep = text.Length <= maxLength ? text.Length : maxLength;
        if (keep > 0 && keep < text.Length && char.IsHighSurrogate(text[keep - 1]))
        {
            keep--;
        }

        int first = 0;
        while (first < keep && !IsUnsafe(text[first], keepLineBreaks))
        {
            first++;
        }

        if (first == text.Length)
        {
            return text;
        }

        var safe = new StringBuilder(keep + 16).Append(text, 0, first);
        for (int i = first; i < keep; i++)
        {
            char c = text[i];
            if (!IsUnsafe(c, keepLineBreaks))
            {
                safe.Append(c);
                continue;
            }

            safe.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < '\u0100' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
            });
        }

        if (keep < text.Length)
        {
            safe.Append("… (").Append((text.Length - keep).ToString(CultureInfo.InvariantCulture)).Append(" more characters)");
        }

        return safe.ToString();
    }

    /// <summary>Whether <paramref name="c"/> must not reach a terminal as it is.</summary>
    public static bool IsUnsafe(char c, bool keepLineBreaks = false) => c switch
    {
        '\n' or '\t' => !keepLineBreaks,
        < '\u0020' or (>= '\u007f' and < '\u00a0') => true,
        '\u2028' or '\u2029' => true,
        '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069') => true,
        _ => false,
    };
}
