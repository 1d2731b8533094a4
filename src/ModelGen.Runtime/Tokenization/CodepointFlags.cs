using System.Globalization;

namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// The character classes pre-tokenizers test: one general-category group (the regex classes <c>\p{N}</c>,
/// <c>\p{L}</c>, ...) plus the Unicode White_Space property. The bit values are llama.cpp's <c>unicode_cpt_flags</c>,
/// so the two can be compared directly.
/// </summary>
[Flags]
internal enum CodepointFlags : ushort
{
    /// <summary>Outside the text being split (llama.cpp's "out of range" position): no class at all.</summary>
    None = 0,
    /// <summary>Not assigned (Cn).</summary>
    Undefined = 0x0001,
    /// <summary><c>\p{N}</c>: Nd, Nl, No.</summary>
    Number = 0x0002,
    /// <summary><c>\p{L}</c>: Lu, Ll, Lt, Lm, Lo.</summary>
    Letter = 0x0004,
    /// <summary><c>\p{Z}</c>: Zs, Zl, Zp.</summary>
    Separator = 0x0008,
    /// <summary><c>\p{M}</c>: Mn, Mc, Me.</summary>
    Mark = 0x0010,
    /// <summary><c>\p{P}</c>: Pc, Pd, Ps, Pe, Pi, Pf, Po.</summary>
    Punctuation = 0x0020,
    /// <summary><c>\p{S}</c>: Sm, Sc, Sk, So.</summary>
    Symbol = 0x0040,
    /// <summary><c>\p{C}</c> except Cn: Cc, Cf, Co, Cs.</summary>
    Control = 0x0080,
    /// <summary>The White_Space property (what <c>\s</c> means to the pre-tokenizers).</summary>
    Whitespace = 0x0100,
}

/// <summary>Classifies code points the way llama.cpp's Unicode tables (Unicode 15.1) do.</summary>
internal static class Codepoints
{
    /// <summary>One past the largest code point.</summary>
    public const int Limit = 0x110000;

    private static readonly CodepointFlags[] Ascii = BuildAscii();

    /// <summary>
    /// Code points first assigned in Unicode 16.0, as inclusive ranges. The runtime's tables may know them (.NET 10
    /// carries Unicode 16.0) but llama.cpp's are Unicode 15.1, where they are unassigned: tokenizing must not depend
    /// on which runtime runs it.
    /// </summary>
    private static ReadOnlySpan<int> AssignedInUnicode16 =>
    [
        0x00897, 0x00897, 0x01B4E, 0x01B4F, 0x01B7F, 0x01B7F, 0x01C89, 0x01C8A, 0x02427, 0x02429, 0x031E4, 0x031E5,
        0x0A7CB, 0x0A7CD, 0x0A7DA, 0x0A7DC, 0x105C0, 0x105F3, 0x10D40, 0x10D65, 0x10D69, 0x10D85, 0x10D8E, 0x10D8F,
        0x10EC2, 0x10EC4, 0x10EFC, 0x10EFC, 0x11380, 0x11389, 0x1138B, 0x1138B, 0x1138E, 0x1138E, 0x11390, 0x113B5,
        0x113B7, 0x113C0, 0x113C2, 0x113C2, 0x113C5, 0x113C5, 0x113C7, 0x113CA, 0x113CC, 0x113D5, 0x113D7, 0x113D8,
        0x113E1, 0x113E2, 0x116D0, 0x116E3, 0x11BC0, 0x11BE1, 0x11BF0, 0x11BF9, 0x11F5A, 0x11F5A, 0x13460, 0x143FA,
        0x16100, 0x16139, 0x16D40, 0x16D79, 0x18CFF, 0x18CFF, 0x1CC00, 0x1CCF9, 0x1CD00, 0x1CEB3, 0x1E5D0, 0x1E5FA,
        0x1E5FF, 0x1E5FF, 0x1F8B2, 0x1F8BB, 0x1F8C0, 0x1F8C1, 0x1FA89, 0x1FA89, 0x1FA8F, 0x1FA8F, 0x1FABE, 0x1FABE,
        0x1FAC6, 0x1FAC6, 0x1FADC, 0x1FADC, 0x1FADF, 0x1FADF, 0x1FAE9, 0x1FAE9, 0x1FBCB, 0x1FBEF,
    ];

    /// <summary>The classes of <paramref name="codepoint"/>; code points past U+10FFFF are <see cref="CodepointFlags.Undefined"/>.</summary>
    public static CodepointFlags FlagsOf(int codepoint) =>
        (uint)codepoint < (uint)Ascii.Length ? Ascii[codepoint] : Classify(codepoint);

    private static CodepointFlags Classify(int codepoint)
    {
        if ((uint)codepoint >= Limit)
        {
            return CodepointFlags.Undefined;
        }

        var flags = CharUnicodeInfo.GetUnicodeCategory(codepoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodepointFlags.Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CodepointFlags.Mark,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CodepointFlags.Number,
            UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CodepointFlags.Separator,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CodepointFlags.Punctuation,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => CodepointFlags.Symbol,
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate => CodepointFlags.Control,
            _ => CodepointFlags.Undefined,
        };

        if (flags != CodepointFlags.Undefined && IsAssignedInUnicode16(codepoint))
        {
            return CodepointFlags.Undefined;
        }

        // White_Space has no code point above the BMP; char.IsWhiteSpace is exactly that property below it.
        return codepoint <= char.MaxValue && char.IsWhiteSpace((char)codepoint) ? flags | CodepointFlags.Whitespace : flags;
    }

    private static bool IsAssignedInUnicode16(int codepoint)
    {
        var ranges = AssignedInUnicode16;
        int lo = 0, hi = ranges.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codepoint < ranges[2 * mid])
            {
                hi = mid - 1;
            }
            else if (codepoint > ranges[2 * mid + 1])
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    private static CodepointFlags[] BuildAscii()
    {
        var table = new CodepointFlags[128];
        for (int c = 0; c < table.Length; c++)
        {
            table[c] = Classify(c);
        }

        return table;
    }
}
