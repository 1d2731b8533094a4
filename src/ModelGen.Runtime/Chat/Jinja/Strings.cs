using System.Text;

namespace ModelGen.Runtime.Chat.Jinja;

/// <summary>Python's string operations, counting in code points as Python does rather than in UTF-16 units.</summary>
internal static class Strings
{
    private static bool HasSurrogates(string s) => s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;

    /// <summary>The code points of <paramref name="s"/>, each as a string.</summary>
    public static List<object?> Characters(string s)
    {
        var characters = new List<object?>(s.Length);
        if (!HasSurrogates(s))
        {
            foreach (char c in s)
            {
                characters.Add(c.ToString());
            }

            return characters;
        }

        for (int i = 0; i < s.Length; i++)
        {
            int width = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            characters.Add(s.Substring(i, width));
            i += width - 1;
        }

        return characters;
    }

    /// <summary>The code point at <paramref name="index"/> (negative from the end), or null when out of range.</summary>
    public static string? CodePointAt(string s, long index, Interpreter it)
    {
        it.Step(s.Length >> 6);
        if (!HasSurrogates(s))
        {
            index = index < 0 ? index + s.Length : index;
            return index >= 0 && index < s.Length ? s[(int)index].ToString() : null;
        }

        it.Step(s.Length >> 4);
        var characters = Characters(s);
        index = index < 0 ? index + characters.Count : index;
        return index >= 0 && index < characters.Count ? (string)characters[(int)index]! : null;
    }

    /// <summary>Python's <c>s[start:stop:step]</c>, by code points.</summary>
    public static string Slice(string s, long? start, long? stop, long step, Interpreter it)
    {
        it.Step(s.Length >> 4);
        var sb = new StringBuilder();
        if (!HasSurrogates(s))
        {
            if (step == 1)
            {
                var range = ContiguousSlice(s.Length, start, stop);
                return it.Produced(s[range.Start..range.End]);
            }

            foreach (int i in SliceIndices(s.Length, start, stop, step))
            {
                sb.Append(s[i]);
            }

            return it.Produced(sb.ToString());
        }

        var characters = Characters(s);
        foreach (int i in SliceIndices(characters.Count, start, stop, step))
        {
            sb.Append((string)characters[i]!);
        }

        return it.Produced(sb.ToString());
    }

    /// <summary>The range a slice with step 1 selects, empty when its stop is before its start.</summary>
    private static Range ContiguousSlice(int length, long? start, long? stop)
    {
        long Clamp(long? index, long whenMissing)
        {
            long i = index ?? whenMissing;
            return Math.Clamp(i < 0 ? i + length : i, 0, length);
        }

        long first = Clamp(start, 0);
        long end = Math.Max(first, Clamp(stop, length));
        return new Range((int)first, (int)end);
    }

    public static int Length(string s, Interpreter it)
    {
        it.Step(s.Length >> 4);
        return HasSurrogates(s) ? Characters(s).Count : s.Length;
    }

    /// <summary>
    /// The indices a slice <c>[start:stop:step]</c> selects from <paramref name="length"/> items, by Python's rules
    /// (negative indices count from the end, bounds are clamped, a negative step walks backwards).
    /// </summary>
    public static List<int> SliceIndices(int length, long? start, long? stop, long step)
    {
        long Clamp(long? index, long whenMissing, long low, long high)
        {
            if (index is not { } i)
            {
                return whenMissing;
            }

            if (i < 0)
            {
                i += length;
            }

            return Math.Clamp(i, low, high);
        }

        var indices = new List<int>();
        if (step > 0)
        {
            long first = Clamp(start, 0, 0, length);
            long end = Clamp(stop, length, 0, length);
            for (long i = first; i < end; i += step)
            {
                indices.Add((int)i);
            }
        }
        else
        {
            long first = Clamp(start, length - 1, -1, length - 1);
            long end = Clamp(stop, -1, -1, length - 1);
            for (long i = first; i > end; i += step)
            {
                indices.Add((int)i);
            }
        }

        return indices;
    }

    /// <summary>Python's <c>str.title()</c>: a letter is upper case after a non-letter, lower case after a letter.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousIsLetter = false;
        foreach (char c in s)
        {
            sb.Append(previousIsLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousIsLetter = char.IsLetter(c);
        }

        return sb.ToString();
    }

    /// <summary>
    /// Jinja's <c>title</c> filter, which differs from Python's method: words begin after whitespace, <c>-</c>, or an
    /// opening bracket, and each is capitalized (<c>they're</c> stays one word).
    /// </summary>
    public static string TitleWords(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool wordStart = true;
        foreach (char c in s)
        {
            bool separator = char.IsWhiteSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>str.capitalize()</c>: the first character upper case, the rest lower case.</summary>
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Python's <c>str.split(sep, maxsplit)</c>; without a separator, on runs of whitespace.</summary>
    public static List<object?> Split(string s, string? separator, long maxSplit)
    {
        var parts = new List<object?>();
        if (separator is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i]))
                {
                    i++;
                }

                if (i == s.Length)
                {
                    return parts;
                }

                if (maxSplit >= 0 && parts.Count == maxSplit)
                {
                    parts.Add(s[i..].TrimEnd());
                    return parts;
                }

                int start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i]))
                {
                    i++;
                }

                parts.Add(s[start..i]);
            }
        }

        int from = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int at = s.IndexOf(separator, from, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            parts.Add(s[from..at]);
            from = at + separator.Length;
        }

        parts.Add(s[from..]);
        return parts;
    }

    /// <summary>Python's <c>str.replace(old, new, count)</c>, an empty <paramref name="old"/> included.</summary>
    public static string Replace(Interpreter it, string s, string old, string replacement, long count)
    {
        var sb = new StringBuilder();
        long done = 0;
        if (old.Length == 0)
        {
            foreach (var character in Characters(s))
            {
                if (count < 0 || done++ < count)
                {
                    sb.Append(replacement);
                }

                sb.Append((string)character!);
                Check(it, sb);
            }

            if (count < 0 || done < count)
            {
                sb.Append(replacement);
            }

            return sb.ToString();
        }

        int from = 0;
        while (count < 0 || done < count)
        {
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            sb.Append(s, from, at - from).Append(replacement);
            Check(it, sb);
            from = at + old.Length;
            done++;
        }

        return it.Produced(sb.Append(s, from, s.Length - from).ToString());
    }

    private static void Check(Interpreter it, StringBuilder sb)
    {
        if (sb.Length > it.Limits.MaxOutputLength)
        {
            throw it.Fail($"a string grew longer than {it.Limits.MaxOutputLength} characters");
        }
    }
}
