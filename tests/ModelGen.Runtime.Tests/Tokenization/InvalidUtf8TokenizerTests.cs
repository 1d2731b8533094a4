using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>
/// Raw bytes that are not UTF-8, tokenized through the byte-span entry point (what <c>modelgen tokenize --file</c>
/// uses), against <c>llama_tokenize</c> given the same bytes: each kind of damage alone, at the start, in the middle
/// of a word, at the end, and beside special-token text.
/// </summary>
public sealed class InvalidUtf8TokenizerTests(ITestOutputHelper output)
{
    /// <summary>
    /// One of each way a byte sequence fails to be UTF-8, but for a four-byte sequence above U+10FFFF (F4 90 80 80):
    /// llama.cpp decodes it without a range check and then aborts the process re-encoding it ("invalid codepoint"),
    /// so there is no reference to compare with.
    /// </summary>
    private static readonly (string Name, byte[] Bytes)[] Damage =
    [
        ("lone continuation byte", [0x80]),
        ("last continuation byte", [0xBF]),
        ("two continuation bytes", [0x80, 0x80]),
        ("lead byte without continuation", [0xC3]),
        ("three-byte sequence cut after two", [0xE2, 0x82]),
        ("four-byte sequence cut after three", [0xF0, 0x9F, 0x98]),
        ("overlong slash", [0xC0, 0xAF]),
        ("overlong NUL", [0xC0, 0x80]),
        ("three-byte overlong", [0xE0, 0x80, 0xAF]),
        ("surrogate half", [0xED, 0xA0, 0x80]),
        ("five-byte lead", [0xF8, 0x88, 0x80, 0x80, 0x80]),
        ("0xFE", [0xFE]),
        ("0xFF", [0xFF]),
        ("0xFF run", [0xFF, 0xFF, 0xFF, 0xFF]),
    ];

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("phi-3")]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    [InlineData("gpt-2")]
    public void Invalid_utf8_gives_llama_tokenize_ids(string name)
    {
        var (_, tokenizer, llama) = Vocabularies.Get(name);
        var special = tokenizer.GetTokenText(tokenizer.BosId ?? tokenizer.EosId ?? 0);
        var mismatches = new List<string>();
        int compared = 0;
        var actual = new List<int>();
        foreach (var (damageName, damage) in Damage)
        {
            foreach (var input in Surroundings(damage, special))
            {
                foreach (var (addSpecial, parseSpecial) in new[] { (false, false), (true, true) })
                {
                    var expected = llama.Tokenize(input, addSpecial, parseSpecial);
                    actual.Clear();
                    tokenizer.Tokenize(input, addSpecial, parseSpecial, actual);
                    compared++;
                    if (!actual.SequenceEqual(expected))
                    {
                        mismatches.Add($"{damageName} in {Convert.ToHexString(input)} add={addSpecial} parse={parseSpecial}:\n" +
                                       $"  llama.cpp [{string.Join(' ', expected)}]\n  ours      [{string.Join(' ', actual)}]");
                    }
                }
            }
        }

        output.WriteLine($"{name}: {compared} tokenizations of invalid UTF-8 compared, {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(10)));
    }

    /// <summary><paramref name="damage"/> alone and placed where tokenizers split: word edges, spaces, special tokens, digits.</summary>
    private static IEnumerable<byte[]> Surroundings(byte[] damage, string special)
    {
        var specialBytes = System.Text.Encoding.UTF8.GetBytes(special);
        yield return damage;
        yield return [.. damage, .. "Hello"u8];
        yield return [.. "Hel"u8, .. damage, .. "lo world"u8];
        yield return [.. "Hello "u8, .. damage];
        yield return [.. "  "u8, .. damage, .. " 123"u8, .. damage, .. "456"u8];
        yield return [.. "naïve "u8, .. damage, .. "🙂"u8, .. damage];
        yield return [.. specialBytes, .. damage, .. specialBytes];
        yield return [.. "\n\t"u8, .. damage, .. "'s "u8, .. damage, .. "\r\n"u8];
    }
}
