using ModelGen.LlamaCpp;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>The character classes the pre-tokenizers use, against llama.cpp's own Unicode tables.</summary>
public sealed class CodepointFlagsTests
{
    // unicode_cpt_flags also carries lowercase, uppercase and NFD bits, which no pre-tokenizer implemented here reads.
    private const ushort ClassBits = 0x01FF;

    [Fact]
    public void Every_code_point_has_llama_cpp_classes()
    {
        LlamaCppLibrary.EnsureLoaded();
        var mismatches = new List<string>();
        for (int codepoint = 0; codepoint < Codepoints.Limit; codepoint++)
        {
            var expected = (CodepointFlags)(LlamaNative.UnicodeFlagsOf((uint)codepoint) & ClassBits);
            var actual = Codepoints.FlagsOf(codepoint);
            if (actual != expected)
            {
                mismatches.Add($"U+{codepoint:X4}: llama.cpp {expected}, ours {actual}");
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} code points differ:\n" + string.Join('\n', mismatches.Take(20)));
    }

    [Fact]
    public void Code_points_past_the_unicode_range_are_undefined()
    {
        Assert.Equal(CodepointFlags.Undefined, Codepoints.FlagsOf(Codepoints.Limit));
        Assert.Equal(CodepointFlags.Undefined, Codepoints.FlagsOf(0x1FFFFF));
    }

    /// <summary>
    /// LLaMA 3's contractions are case-insensitive through llama.cpp's <c>unicode_tolower</c>; folding ASCII only is
    /// the same exactly when no other code point lower-cases to a contraction letter.
    /// </summary>
    [Fact]
    public void Only_ascii_letters_lower_case_to_contraction_letters()
    {
        LlamaCppLibrary.EnsureLoaded();
        var lowersToContractionLetter = new List<int>();
        for (int codepoint = 0; codepoint < Codepoints.Limit; codepoint++)
        {
            if ("stmdrevl".Contains((char)Math.Min(LlamaNative.UnicodeToLower((uint)codepoint), char.MaxValue)))
            {
                lowersToContractionLetter.Add(codepoint);
            }
        }

        Assert.Equal("DELMRSTVdelmrstv".Select(c => (int)c), lowersToContractionLetter);
    }
}
