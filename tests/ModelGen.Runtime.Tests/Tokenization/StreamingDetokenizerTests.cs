using System.Text;
using ModelGen.Runtime.Tokenization;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Tokenization;

public sealed class StreamingDetokenizerTests(ITestOutputHelper output)
{
    // Characters that SentencePiece vocabularies spell with byte-fallback tokens and byte-level BPE vocabularies
    // often split across tokens: rare CJK, historic scripts, emoji sequences, combining marks.
    private const string MultiByteText =
        "Grüße 🦙 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 龘龘 𓀀𓀁 👨‍👩‍👧‍👦 🇯🇵 e\u0301 ᏣᎳᎩ ꙮ 𐍈 ₿ 你好，世界！ 😀😃😄";

    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Token_by_token_gives_the_text_decoding_all_at_once_gives(string name)
    {
        var tokenizer = Vocabularies.Get(name).Tokenizer;
        var tokens = tokenizer.Tokenize(MultiByteText, addSpecial: true, parseSpecial: false);

        var (streamed, chunks) = Stream(tokenizer, tokens);
        var allAtOnce = AllAtOnce(tokenizer, tokens);
        Assert.Equal(allAtOnce, streamed);
        Assert.Contains("🦙", streamed);
        Assert.DoesNotContain('\uFFFD', streamed);

        // The test means something only if some characters do arrive split across tokens.
        int partial = tokens.Count(t => !IsValidUtf8(tokenizer.GetPiece(t, renderSpecial: false)));
        output.WriteLine($"{name}: {tokens.Length} tokens, {partial} of them partial characters, {chunks.Count(c => c.Length > 0)} non-empty chunks");
        Assert.True(partial > 0);
    }

    /// <summary>Random token sequences, byte fallback tokens in any order: invalid UTF-8 must read the same both ways.</summary>
    [Theory]
    [InlineData("llama-spm")]
    [InlineData("qwen2")]
    public void Random_token_sequences_stream_as_they_decode(string name)
    {
        var tokenizer = Vocabularies.Get(name).Tokenizer;
        var random = new Random(7);
        for (int i = 0; i < 500; i++)
        {
            var tokens = new int[1 + random.Next(12)];
            for (int j = 0; j < tokens.Length; j++)
            {
                // Mostly low ids: byte-fallback tokens (SentencePiece) and single bytes (byte-level BPE) live there.
                tokens[j] = random.Next(2) == 0 ? random.Next(300) : random.Next(tokenizer.VocabularySize);
            }

            Assert.Equal(AllAtOnce(tokenizer, tokens), Stream(tokenizer, tokens).Text);
        }
    }

    [Fact]
    public void Flush_releases_an_unfinished_character_as_a_replacement()
    {
        var tokenizer = Vocabularies.Get("llama-spm").Tokenizer;
        int lead = Enumerable.Range(0, tokenizer.VocabularySize).Single(id => tokenizer.GetTokenText(id) == "<0xF0>");
        Assert.Equal(TokenAttributes.Byte, tokenizer.GetAttributes(lead));

        var stream = new StreamingDetokenizer(tokenizer);
        Assert.Equal("", stream.Append(lead));
        Assert.Equal("\uFFFD", stream.Flush());
        Assert.Equal("", stream.Flush());
    }

    private static (string Text, List<string> Chunks) Stream(Tokenizer tokenizer, int[] tokens)
    {
        var stream = new StreamingDetokenizer(tokenizer);
        var chunks = tokens.Select(stream.Append).ToList();
        chunks.Add(stream.Flush());
        return (string.Concat(chunks), chunks);
    }

    private static string AllAtOnce(Tokenizer tokenizer, int[] tokens)
    {
        var bytes = new List<byte>();
        foreach (int token in tokens)
        {
            bytes.AddRange(tokenizer.GetPiece(token, renderSpecial: false));
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static bool IsValidUtf8(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}
