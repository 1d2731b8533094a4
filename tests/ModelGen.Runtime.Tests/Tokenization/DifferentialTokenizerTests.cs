using System.Text;
using ModelGen.Gguf;
using ModelGen.Runtime.Tokenization;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>Our tokenizers against llama.cpp's own, on the same GGUF vocabularies.</summary>
public sealed class DifferentialTokenizerTests(ITestOutputHelper output)
{
    private const int FuzzCases = 1500;

    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Tokenize_matches_llama_tokenize_on_fuzz_inputs(string name)
    {
        var vocabulary = Vocabularies.Get(name);
        AssertSameTokens(vocabulary, seed: 1000 + Array.IndexOf(Vocabularies.Names, name), FuzzCases, output);
    }

    /// <summary>
    /// What no test vocabulary has, checked on a copy of one with a metadata key changed, which llama.cpp reads too:
    /// the other pre-tokenizers (their split rules applied to another vocabulary), SentencePiece without the leading
    /// space, and BOS and EOS switched on or off.
    /// </summary>
    [Theory]
    [InlineData("gpt-2", "pre", "default")]
    [InlineData("gpt-2", "pre", "falcon")]
    [InlineData("gpt-2", "pre", "smollm")]
    [InlineData("gpt-2", "pre", "deepseek-coder")]
    [InlineData("starcoder", "pre", "qwen2")]
    [InlineData("starcoder", "pre", "llama3")]
    [InlineData("starcoder", "pre", "chatglm-bpe")]
    [InlineData("llama-spm", "add_space_prefix", false)]
    [InlineData("llama-spm", "add_eos_token", true)]
    [InlineData("llama-bpe", "add_bos_token", false)]
    [InlineData("gpt-2", "add_eos_token", true)]
    public void Tokenize_matches_llama_tokenize_with_changed_metadata(string name, string key, object value)
    {
        var path = Vocabularies.WriteWith(name, "tokenizer.ggml." + key, value is bool flag ? GgufValue.Of(flag) : GgufValue.Of((string)value));
        try
        {
            var vocabulary = Vocabularies.Load(path);
            using (vocabulary.Llama)
            {
                AssertSameTokens(vocabulary, seed: 2000 + key.Length, FuzzCases / 3, output);
                Assert.Equal(vocabulary.Llama.Bos, vocabulary.Tokenizer.BosId ?? -1);
                Assert.Equal(vocabulary.Llama.AddBos, vocabulary.Tokenizer.AddBos);
                Assert.Equal(vocabulary.Llama.AddEos, vocabulary.Tokenizer.AddEos);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Pieces_match_llama_token_to_piece_for_every_token(string name)
    {
        var (_, tokenizer, llama) = Vocabularies.Get(name);
        Assert.Equal(llama.TokenCount, tokenizer.VocabularySize);

        var mismatches = new List<string>();
        for (int id = 0; id < tokenizer.VocabularySize; id++)
        {
            foreach (var (special, lstrip) in new[] { (false, 0), (true, 0), (true, 1) })
            {
                var expected = llama.TokenToPiece(id, special, lstrip);
                var actual = tokenizer.GetPiece(id, special, lstrip);
                if (!actual.SequenceEqual(expected))
                {
                    mismatches.Add($"{id} special={special} lstrip={lstrip}: expected {Convert.ToHexString(expected)}, got {Convert.ToHexString(actual)}");
                }
            }
        }

        output.WriteLine($"{name}: {tokenizer.VocabularySize} tokens x 3 renderings, {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(20)));
    }

    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Attributes_and_special_tokens_match_llama(string name)
    {
        var (_, tokenizer, llama) = Vocabularies.Get(name);
        var mismatches = new List<string>();
        for (int id = 0; id < tokenizer.VocabularySize; id++)
        {
            if ((int)tokenizer.GetAttributes(id) != llama.GetAttributes(id))
            {
                mismatches.Add($"{id} '{tokenizer.GetTokenText(id)}': attributes {tokenizer.GetAttributes(id)}, llama.cpp {(TokenAttributes)llama.GetAttributes(id)}");
            }

            if (tokenizer.IsEndOfGeneration(id) != llama.IsEndOfGeneration(id))
            {
                mismatches.Add($"{id} '{tokenizer.GetTokenText(id)}': end of generation {tokenizer.IsEndOfGeneration(id)}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(20)));
        Assert.Equal(llama.Bos, tokenizer.BosId ?? -1);
        Assert.Equal(llama.Eos, tokenizer.EosId ?? -1);
        Assert.Equal(llama.Eot, tokenizer.EotId ?? -1);
        Assert.Equal(llama.Separator, tokenizer.SeparatorId ?? -1);
        Assert.Equal(llama.Padding, tokenizer.PaddingId ?? -1);
        Assert.Equal(llama.AddBos, tokenizer.AddBos);
        Assert.Equal(llama.AddEos, tokenizer.AddEos);
        output.WriteLine($"{name}: {tokenizer.VocabularySize} tokens, {tokenizer.EndOfGenerationIds.Count} end-of-generation tokens");
    }

    [Theory]
    [MemberData(nameof(Vocabularies.All), MemberType = typeof(Vocabularies))]
    public void Detokenize_matches_llama_detokenize(string name)
    {
        var (_, tokenizer, llama) = Vocabularies.Get(name);
        var fuzz = new FuzzText(3000 + Array.IndexOf(Vocabularies.Names, name), SpecialTexts(tokenizer));
        int compared = 0;
        var mismatches = new List<string>();
        for (int i = 0; i < FuzzCases / 3; i++)
        {
            var tokens = llama.Tokenize(fuzz.Next(), addSpecial: true, parseSpecial: true);
            foreach (var (removeSpecial, unparseSpecial) in new[] { (false, false), (true, true), (false, true) })
            {
                var expected = llama.Detokenize(tokens, removeSpecial, unparseSpecial);
                var actual = tokenizer.DetokenizeToUtf8(tokens, removeSpecial, unparseSpecial);
                compared++;
                if (!actual.AsSpan().SequenceEqual(expected))
                {
                    mismatches.Add($"[{string.Join(' ', tokens)}] remove={removeSpecial} unparse={unparseSpecial}: expected {Convert.ToHexString(expected)}, got {Convert.ToHexString(actual)}");
                }
            }
        }

        output.WriteLine($"{name}: {compared} detokenizations compared, {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(10)));
    }

    /// <summary>Texts of the tokens matched in input (control, user-defined, unknown), for the fuzzer to mix in.</summary>
    internal static string[] SpecialTexts(Tokenizer tokenizer) =>
    [
        .. Enumerable.Range(0, tokenizer.VocabularySize)
            .Where(id => (tokenizer.GetAttributes(id) & (TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown)) != 0)
            .Select(tokenizer.GetTokenText),
    ];

    private static void AssertSameTokens(Vocabularies.Loaded vocabulary, int seed, int cases, ITestOutputHelper output)
    {
        var (_, tokenizer, llama) = vocabulary;
        var fuzz = new FuzzText(seed, SpecialTexts(tokenizer));
        var mismatches = new List<string>();
        long tokens = 0, bytes = 0;
        var actual = new List<int>();
        for (int i = 0; i < cases; i++)
        {
            var text = fuzz.Next();
            bytes += text.Length;
            foreach (var (addSpecial, parseSpecial) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                var expected = llama.Tokenize(text, addSpecial, parseSpecial);
                actual.Clear();
                tokenizer.Tokenize(text, addSpecial, parseSpecial, actual);
                tokens += expected.Length;
                if (!actual.SequenceEqual(expected))
                {
                    mismatches.Add($"add={addSpecial} parse={parseSpecial} '{Encoding.UTF8.GetString(text)}' ({Convert.ToHexString(text)}):\n" +
                        $"  llama.cpp [{string.Join(' ', expected)}]\n  ours      [{string.Join(' ', actual)}]");
                }
            }
        }

        output.WriteLine($"{Path.GetFileName(vocabulary.Path)} ({tokenizer.PreTokenizerName ?? "SentencePiece"}): {cases} inputs ({bytes} bytes) x 4 flag combinations, " +
            $"{tokens} tokens compared, {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(10)));
    }
}
