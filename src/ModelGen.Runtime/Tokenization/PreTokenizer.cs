namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// Splits text into the words a byte-level BPE vocabulary merges within, as llama.cpp's <c>unicode_regex_split</c>
/// does: a list of split rules, each applied to every piece the previous rules produced.
/// </summary>
/// <remarks>
/// llama.cpp implements the common regexes (GPT-2's, LLaMA 3's, Qwen2's) as hand-written scanners and runs the rest
/// through <c>std::regex</c> over a text where each non-ASCII code point stands for its Unicode category. Each rule
/// here computes what one of those does; the remaining regexes are all of the shape
/// <c>prefix? class{min,max}</c>, which <see cref="PatternRule"/> matches with the same leftmost-first semantics.
/// No .NET <see cref="System.Text.RegularExpressions.Regex"/> is involved: its Unicode tables follow the runtime,
/// llama.cpp's are fixed at Unicode 15.1 (see <see cref="Codepoints"/>).
/// </remarks>
internal sealed class PreTokenizer
{
    private readonly SplitRule[] _rules;

    private PreTokenizer(params SplitRule[] rules) => _rules = rules;

    public static PreTokenizer For(PreTokenizerKind kind) => kind switch
    {
        PreTokenizerKind.Gpt2 => new(Gpt2Rule.Instance),
        PreTokenizerKind.Llama3 => new(new Llama3Rule(maxDigits: 3)),
        PreTokenizerKind.Qwen2 => new(new Llama3Rule(maxDigits: 1)),
        PreTokenizerKind.StarCoder => new(new PatternRule(CharClass.Number, 1, 1), Gpt2Rule.Instance),
        PreTokenizerKind.DeepSeekCoder => new(
            new PatternRule(CharClass.LineBreak, 1, 1),
            new PatternRule(CharClass.Letter, 1, int.MaxValue, optionalPrefix: CharClass.Whitespace),
            new PatternRule(CharClass.Punctuation, 1, int.MaxValue, optionalPrefix: CharClass.Whitespace),
            new PatternRule(CharClass.Cjk, 1, int.MaxValue),
            new PatternRule(CharClass.Number, 1, 1)),
        PreTokenizerKind.Falcon => new(
            new PatternRule(CharClass.PunctuationOrFalconOperator, 1, int.MaxValue),
            Gpt2Rule.Instance,
            new PatternRule(CharClass.AsciiDigit, 3, 3)),
        PreTokenizerKind.Default => new(
            new PatternRule(CharClass.PunctuationOrOperator, 1, int.MaxValue),
            Gpt2Rule.Instance,
            new PatternRule(CharClass.Number, 1, int.MaxValue),
            new PatternRule(CharClass.AsciiDigit, 3, 3)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// Splits <paramref name="codepoints"/> into words, leaving their lengths (in code points, in order, covering the
    /// text) in <paramref name="words"/>; <paramref name="scratch"/> is working space.
    /// </summary>
    public void Split(ReadOnlySpan<int> codepoints, ReadOnlySpan<CodepointFlags> flags, List<int> words, List<int> scratch)
    {
        words.Clear();
        if (codepoints.IsEmpty)
        {
            return;
        }

        words.Add(codepoints.Length);
        foreach (var rule in _rules)
        {
            scratch.Clear();
            int start = 0;
            foreach (int length in words)
            {
                rule.Split(codepoints, flags, start, start + length, scratch);
                start += length;
            }

            words.Clear();
            words.AddRange(scratch);
        }
    }
}

/// <summary>The pre-tokenizer families implemented, by the llama.cpp regexes they compute.</summary>
internal enum PreTokenizerKind
{
    /// <summary>llama.cpp's fallback: punctuation runs, then GPT-2's regex, then digit runs, then groups of three digits.</summary>
    Default,
    /// <summary><c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)</c>.</summary>
    Gpt2,
    /// <summary>LLaMA 3's case-insensitive contractions, letter runs with one leading non-letter, digits in threes.</summary>
    Llama3,
    /// <summary>LLaMA 3's regex with single digits.</summary>
    Qwen2,
    /// <summary>Single digits, then GPT-2's regex.</summary>
    StarCoder,
    /// <summary>Line breaks, letter runs, punctuation runs, CJK runs, single digits.</summary>
    DeepSeekCoder,
    /// <summary>Punctuation runs, GPT-2's regex, groups of three ASCII digits.</summary>
    Falcon,
}

/// <summary>One split rule: cuts a piece of text into consecutive sub-pieces.</summary>
internal abstract class SplitRule
{
    /// <summary>Splits code points [<paramref name="start"/>, <paramref name="end"/>) and appends the sub-piece lengths.</summary>
    public abstract void Split(ReadOnlySpan<int> codepoints, ReadOnlySpan<CodepointFlags> flags, int start, int end, List<int> pieces);

    /// <summary>Appends the piece ending at <paramref name="end"/> (if not empty) and starts the next one there.</summary>
    protected static void Cut(List<int> pieces, ref int pieceStart, int end)
    {
        if (end > pieceStart)
        {
            pieces.Add(end - pieceStart);
        }

        pieceStart = end;
    }

    /// <summary>Flags at <paramref name="pos"/>, or none past the end of the piece (the regexes' end of input).</summary>
    protected static CodepointFlags FlagsAt(ReadOnlySpan<CodepointFlags> flags, int pos, int end) => pos < end ? flags[pos] : CodepointFlags.None;

    protected static bool IsLineBreak(int codepoint) => codepoint is '\r' or '\n';

    /// <summary><c>[^\s\p{L}\p{N}]</c> for a position in the piece (past its end nothing matches).</summary>
    protected static bool IsOther(CodepointFlags flags) =>
        (flags & (CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number)) == 0 && flags != CodepointFlags.None;

    /// <summary>The first position from <paramref name="pos"/> with none of <paramref name="classes"/>.</summary>
    protected static int SkipWhile(ReadOnlySpan<CodepointFlags> flags, int pos, int end, CodepointFlags classes)
    {
        while (pos < end && (flags[pos] & classes) != 0)
        {
            pos++;
        }

        return pos;
    }

    /// <summary>The first position from <paramref name="pos"/> that is not <see cref="IsOther"/>.</summary>
    protected static int SkipOthers(ReadOnlySpan<CodepointFlags> flags, int pos, int end)
    {
        while (pos < end && IsOther(flags[pos]))
        {
            pos++;
        }

        return pos;
    }

    /// <summary>
    /// The length of the contraction at <paramref name="pos"/>: 2 for <c>'s 't 'm 'd</c>, 3 for <c>'re 've 'll</c>,
    /// 0 for none.
    /// </summary>
    protected static int ContractionLength(ReadOnlySpan<int> codepoints, int pos, int end, bool ignoreCase)
    {
        if (codepoints[pos] != '\'' || pos + 1 >= end)
        {
            return 0;
        }

        int c1 = Lower(codepoints[pos + 1], ignoreCase);
        if (c1 is 's' or 't' or 'm' or 'd')
        {
            return 2;
        }

        if (pos + 2 < end)
        {
            int c2 = Lower(codepoints[pos + 2], ignoreCase);
            if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l'))
            {
                return 3;
            }
        }

        return 0;
    }

    // Only ASCII letters lower-case to the contraction letters (the two other code points that lower-case to ASCII,
    // U+0130 and U+212A, become 'i' and 'k'), so ASCII case folding is Unicode's here.
    private static int Lower(int codepoint, bool ignoreCase) =>
        ignoreCase && codepoint is >= 'A' and <= 'Z' ? codepoint + ('a' - 'A') : codepoint;
}

/// <summary>GPT-2's regex <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>.</summary>
internal sealed class Gpt2Rule : SplitRule
{
    public static readonly Gpt2Rule Instance = new();

    public override void Split(ReadOnlySpan<int> codepoints, ReadOnlySpan<CodepointFlags> flags, int start, int end, List<int> pieces)
    {
        int pieceStart = start;
        for (int pos = start; pos < end;)
        {
            int contraction = ContractionLength(codepoints, pos, end, ignoreCase: false);
            if (contraction > 0)
            {
                pos += contraction;
                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": the class of the code point after an optional space.
            int first = codepoints[pos] == ' ' ? pos + 1 : pos;
            var next = FlagsAt(flags, first, end);
            if ((next & (CodepointFlags.Letter | CodepointFlags.Number)) != 0)
            {
                pos = SkipWhile(flags, first, end, next & (CodepointFlags.Letter | CodepointFlags.Number));
                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            if (IsOther(next))
            {
                pos = SkipOthers(flags, first, end);
                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            int whitespace = SkipWhile(flags, pos, end, CodepointFlags.Whitespace) - pos;

            // "\s+(?!\S)": a run followed by more text leaves its last whitespace to start the next word.
            pos += whitespace > 1 && pos + whitespace < end ? whitespace - 1 : Math.Max(whitespace, 1);
            Cut(pieces, ref pieceStart, pos);
        }
    }
}

/// <summary>
/// LLaMA 3's regex <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>,
/// and Qwen2's, which takes digits one at a time (<paramref name="maxDigits"/> 1).
/// </summary>
internal sealed class Llama3Rule(int maxDigits) : SplitRule
{
    public override void Split(ReadOnlySpan<int> codepoints, ReadOnlySpan<CodepointFlags> flags, int start, int end, List<int> pieces)
    {
        int pieceStart = start;
        for (int pos = start; pos < end;)
        {
            int codepoint = codepoints[pos];
            var current = flags[pos];

            int contraction = ContractionLength(codepoints, pos, end, ignoreCase: true);
            if (contraction > 0)
            {
                pos += contraction;
                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (!IsLineBreak(codepoint) && (current & CodepointFlags.Number) == 0
                && ((current & CodepointFlags.Letter) != 0 || (FlagsAt(flags, pos + 1, end) & CodepointFlags.Letter) != 0))
            {
                pos = SkipWhile(flags, pos + 1, end, CodepointFlags.Letter);
                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            // \p{N}{1,maxDigits}, repeated over a digit run
            if ((current & CodepointFlags.Number) != 0)
            {
                while (pos < end && (flags[pos] & CodepointFlags.Number) != 0)
                {
                    pos++;
                    if (pos - pieceStart >= maxDigits)
                    {
                        Cut(pieces, ref pieceStart, pos);
                    }
                }

                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            // " ?[^\s\p{L}\p{N}]+[\r\n]*". llama.cpp tests the code point after the space without requiring that
            // it exists, so a space that ends the piece is a word by this branch too.
            int first = codepoint == ' ' ? pos + 1 : pos;
            if ((FlagsAt(flags, first, end) & (CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number)) == 0)
            {
                pos = SkipOthers(flags, first, end);
                while (pos < end && IsLineBreak(codepoints[pos]))
                {
                    pos++;
                }

                Cut(pieces, ref pieceStart, pos);
                continue;
            }

            int whitespace = 0;
            int lineBreakEnd = -1;
            while (pos + whitespace < end && (flags[pos + whitespace] & CodepointFlags.Whitespace) != 0)
            {
                if (IsLineBreak(codepoints[pos + whitespace]))
                {
                    lineBreakEnd = pos + whitespace + 1;
                }

                whitespace++;
            }

            pos = lineBreakEnd >= 0 ? lineBreakEnd                                // \s*[\r\n]+
                : whitespace > 1 && pos + whitespace < end ? pos + whitespace - 1  // \s+(?!\S)
                : pos + Math.Max(whitespace, 1);                                   // \s+, or one code point nothing matched
            Cut(pieces, ref pieceStart, pos);
        }
    }
}

/// <summary>The classes <see cref="PatternRule"/> matches.</summary>
internal enum CharClass
{
    /// <summary><c>\p{N}</c>.</summary>
    Number,
    /// <summary><c>\p{L}</c>.</summary>
    Letter,
    /// <summary><c>\p{P}</c>.</summary>
    Punctuation,
    /// <summary><c>\s</c>.</summary>
    Whitespace,
    /// <summary><c>[\r\n]</c>.</summary>
    LineBreak,
    /// <summary><c>[0-9]</c>.</summary>
    AsciiDigit,
    /// <summary><c>[一-龥ࠀ-一가-퟿]</c>: U+0800..U+9FA5 and U+AC00..U+D7FF, except whitespace.</summary>
    Cjk,
    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|]</c>.</summary>
    PunctuationOrOperator,
    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|`]</c>.</summary>
    PunctuationOrFalconOperator,
}

/// <summary>
/// The regex <c>prefix?class{min,max}</c> (prefix and class disjoint), split out as <c>std::regex_iterator</c> does:
/// every leftmost match is a piece, and so is every non-empty stretch between matches.
/// </summary>
internal sealed class PatternRule(CharClass body, int min, int max, CharClass? optionalPrefix = null) : SplitRule
{
    public override void Split(ReadOnlySpan<int> codepoints, ReadOnlySpan<CodepointFlags> flags, int start, int end, List<int> pieces)
    {
        int pieceStart = start;
        for (int pos = start; pos < end;)
        {
            int matchEnd = MatchAt(codepoints, flags, pos, end);
            if (matchEnd < 0)
            {
                pos++;
                continue;
            }

            Cut(pieces, ref pieceStart, pos);
            Cut(pieces, ref pieceStart, matchEnd);
            pos = matchEnd;
        }

        Cut(pieces, ref pieceStart, end);
    }

    /// <summary>End of the match starting at <paramref name="pos"/>, or -1.</summary>
    private int MatchAt(ReadOnlySpan<int> codepoints, ReadOnlySpan<CodepointFlags> flags, int pos, int end)
    {
        // Prefix and body are disjoint, so the optional prefix is taken exactly when the body follows it.
        if (optionalPrefix is { } prefix && pos + 1 < end && Matches(prefix, codepoints[pos], flags[pos])
            && Matches(body, codepoints[pos + 1], flags[pos + 1]))
        {
            pos++;
        }

        int count = 0;
        while (count < max && pos + count < end && Matches(body, codepoints[pos + count], flags[pos + count]))
        {
            count++;
        }

        return count >= min ? pos + count : -1;
    }

    private static bool Matches(CharClass c, int codepoint, CodepointFlags flags) => c switch
    {
        CharClass.Number => (flags & CodepointFlags.Number) != 0,
        CharClass.Letter => (flags & CodepointFlags.Letter) != 0,
        CharClass.Punctuation => (flags & CodepointFlags.Punctuation) != 0,
        CharClass.Whitespace => (flags & CodepointFlags.Whitespace) != 0,
        CharClass.LineBreak => IsLineBreak(codepoint),
        CharClass.AsciiDigit => codepoint is >= '0' and <= '9',
        CharClass.Cjk => codepoint is (>= 0x0800 and <= 0x9FA5) or (>= 0xAC00 and <= 0xD7FF) && (flags & CodepointFlags.Whitespace) == 0,
        CharClass.PunctuationOrOperator => (flags & CodepointFlags.Punctuation) != 0 || codepoint is '$' or '+' or '<' or '=' or '>' or '^' or '~' or '|',
        CharClass.PunctuationOrFalconOperator => (flags & CodepointFlags.Punctuation) != 0 || codepoint is '$' or '+' or '<' or '=' or '>' or '^' or '~' or '|' or '`',
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };
}
