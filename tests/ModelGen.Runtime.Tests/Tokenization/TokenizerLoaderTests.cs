using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Synthesis;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>
/// Tokenizer metadata that is inconsistent or hostile: each gets one <see cref="UnsupportedModelException"/> or
/// <see cref="GgufFormatException"/> naming the file, the keys and the lengths, never another exception.
/// </summary>
public sealed class TokenizerLoaderTests
{
    private const string File = "model.gguf";

    /// <summary>The default model's SentencePiece vocabulary (672 tokens) with some keys replaced or removed.</summary>
    private static GgufMetadata TinyWith(params (string Key, GgufValue? Value)[] changes)
    {
        var writer = new GgufWriter();
        TinyVocabulary.AddTo(writer);
        return With(writer.Metadata, changes);
    }

    /// <summary>
    /// A byte-level BPE vocabulary of five tokens, "a", "b", "ab", "c", "abc", with merges "a b" and "ab c".
    /// </summary>
    private static GgufMetadata BytePairWith(params (string Key, GgufValue? Value)[] changes)
    {
        var entries = new[]
        {
            new GgufMetadataEntry("tokenizer.ggml.model", GgufValue.Of("gpt2")),
            new GgufMetadataEntry("tokenizer.ggml.pre", GgufValue.Of("default")),
            new GgufMetadataEntry("tokenizer.ggml.tokens", GgufValue.Array("a", "b", "ab", "c", "abc")),
            new GgufMetadataEntry("tokenizer.ggml.merges", GgufValue.Array("a b", "ab c")),
        };
        return With(entries, changes);
    }

    private static GgufMetadata With(IEnumerable<GgufMetadataEntry> entries, (string Key, GgufValue? Value)[] changes)
    {
        var changed = changes.Select(c => c.Key).ToHashSet();
        var kept = entries.Where(e => !changed.Contains(e.Key));
        var added = changes.Where(c => c.Value is not null).Select(c => new GgufMetadataEntry(c.Key, c.Value!));
        return new GgufMetadata(kept.Concat(added), "/some/folder/" + File);
    }

    private static string Refused(GgufMetadata metadata) => Assert.Throws<UnsupportedModelException>(() => Tokenizer.FromGguf(metadata)).Message;

    [Fact]
    public void The_unchanged_vocabularies_load()
    {
        Assert.Equal(672, Tokenizer.FromGguf(TinyWith()).VocabularySize);
        Assert.Equal([4], Tokenizer.FromGguf(BytePairWith()).Tokenize("abc", addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void Fewer_scores_than_tokens_are_refused_with_both_lengths()
    {
        var message = Refused(TinyWith(("tokenizer.ggml.scores", GgufValue.Array(new float[10]))));
        Assert.Equal("model.gguf: tokenizer.ggml.scores has 10 entries, tokenizer.ggml.tokens 672", message);
    }

    [Fact]
    public void Fewer_token_types_than_tokens_are_refused_with_both_lengths()
    {
        var message = Refused(TinyWith(("tokenizer.ggml.token_type", GgufValue.Array(new int[671]))));
        Assert.Equal("model.gguf: tokenizer.ggml.token_type has 671 entries, tokenizer.ggml.tokens 672", message);
    }

    [Fact]
    public void More_scores_than_tokens_are_accepted_as_llama_cpp_does()
    {
        var tokenizer = Tokenizer.FromGguf(TinyWith(("tokenizer.ggml.scores", GgufValue.Array(new float[700]))));
        Assert.Equal(672, tokenizer.VocabularySize);
    }

    [Fact]
    public void Byte_level_bpe_without_merges_is_refused()
    {
        var message = Refused(BytePairWith(("tokenizer.ggml.merges", null)));
        Assert.Equal("model.gguf: tokenizer.ggml.model is gpt2 (byte-level BPE) but tokenizer.ggml.merges is missing", message);
    }

    [Fact]
    public void An_empty_token_list_is_refused()
    {
        Assert.Equal("model.gguf: tokenizer.ggml.tokens is empty", Refused(TinyWith(("tokenizer.ggml.tokens", GgufValue.Array<string>()))));
        Assert.Equal("model.gguf: tokenizer.ggml.tokens is empty", Refused(BytePairWith(("tokenizer.ggml.tokens", GgufValue.Array<string>()))));
    }

    [Fact]
    public void An_unknown_tokenizer_model_is_refused_with_its_name_escaped()
    {
        var message = Refused(TinyWith(("tokenizer.ggml.model", GgufValue.Of("bert\u001b[2J\u202e"))));
        Assert.Equal(@"model.gguf: tokenizer.ggml.model 'bert\x1b[2J\u202e' is not supported (llama and gpt2 are)", message);
    }

    [Fact]
    public void An_unknown_pre_tokenizer_is_refused_with_its_name_escaped()
    {
        var message = Refused(BytePairWith(("tokenizer.ggml.pre", GgufValue.Of("mine\r\nforged line"))));
        Assert.StartsWith(@"model.gguf: tokenizer.ggml.pre 'mine\r\nforged line' is not supported; supported: ", message);
        Assert.Contains("qwen2", message);
    }

    [Theory]
    [InlineData("tokenizer.ggml.scores")]
    [InlineData("tokenizer.ggml.token_type")]
    [InlineData("tokenizer.ggml.tokens")]
    public void An_array_of_the_wrong_element_type_is_a_format_error_naming_the_key(string key)
    {
        var metadata = TinyWith((key, GgufValue.Array(new double[672])));
        var ex = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(metadata));
        Assert.Equal($"key '{key}'", ex.Field);
        Assert.Contains("found an array of Float64", ex.Problem);
    }

    [Fact]
    public void A_missing_token_list_is_a_format_error_naming_the_key()
    {
        var ex = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(TinyWith(("tokenizer.ggml.tokens", null))));
        Assert.Equal("key 'tokenizer.ggml.tokens'", ex.Field);
        Assert.Equal("missing", ex.Problem);
    }

    [Fact]
    public void Integer_scores_of_older_conversions_are_read_as_floats()
    {
        var tokenizer = Tokenizer.FromGguf(TinyWith(("tokenizer.ggml.scores", GgufValue.Array(new int[672]))));
        Assert.Equal(672, tokenizer.VocabularySize);
    }

    [Fact]
    public void Special_token_ids_out_of_range_keep_llama_cpp_s_defaults()
    {
        // llama.cpp warns "bad special token" and keeps its default; ids past the vocabulary never reach a lookup.
        var tokenizer = Tokenizer.FromGguf(TinyWith(
            ("tokenizer.ggml.bos_token_id", GgufValue.Of(672u)),
            ("tokenizer.ggml.eos_token_id", GgufValue.Of(uint.MaxValue)),
            ("tokenizer.ggml.unknown_token_id", GgufValue.Of(-1)),
            ("tokenizer.ggml.padding_token_id", GgufValue.Of((ulong)int.MaxValue + 1)),
            ("tokenizer.ggml.eot_token_id", GgufValue.Of(100_000u))));
        Assert.Equal((1, 2, 0), (tokenizer.BosId, tokenizer.EosId, tokenizer.UnknownId));
        Assert.Null(tokenizer.PaddingId);
        Assert.Null(tokenizer.EotId);
        Assert.Equal([2], tokenizer.EndOfGenerationIds);
    }

    [Fact]
    public void A_special_token_id_of_the_wrong_type_is_a_format_error()
    {
        var ex = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(TinyWith(("tokenizer.ggml.bos_token_id", GgufValue.Of("1")))));
        Assert.Equal("key 'tokenizer.ggml.bos_token_id'", ex.Field);
        Assert.Equal("expected an integer, found String", ex.Problem);
    }

    [Fact]
    public void A_special_token_id_beyond_64_bit_signed_range_is_a_format_error_saying_so()
    {
        var ex = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(TinyWith(("tokenizer.ggml.eos_token_id", GgufValue.Of(ulong.MaxValue)))));
        Assert.Equal("key 'tokenizer.ggml.eos_token_id'", ex.Field);
        Assert.Equal("value 18446744073709551615 is above 9223372036854775807", ex.Problem);
    }

    [Fact]
    public void Merges_naming_unknown_or_no_tokens_are_kept_or_dropped_as_llama_cpp_does()
    {
        // "x y" names strings that are no tokens; "q" and " a" have no second half; "a b" still applies.
        var tokenizer = Tokenizer.FromGguf(BytePairWith(("tokenizer.ggml.merges", GgufValue.Array("x y", "q", " a", "", "a b", "ab c"))));
        Assert.Equal([4, 0], tokenizer.Tokenize("abca", addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void Token_texts_that_stand_for_no_bytes_are_never_produced()
    {
        // U+4E00 is no character of the byte-level alphabet: the token can never match, the rest still works.
        var tokenizer = Tokenizer.FromGguf(BytePairWith(("tokenizer.ggml.tokens", GgufValue.Array("a", "b", "ab", "c", "\u4e00", "", "abc"))));
        Assert.Equal([6], tokenizer.Tokenize("abc", addSpecial: false, parseSpecial: false));
        Assert.Equal("[EMPTY_5]", tokenizer.GetTokenText(5));
    }

    [Fact]
    public void Token_types_outside_the_enumeration_are_undefined_tokens()
    {
        var types = new int[672];
        types.AsSpan().Fill(1);
        types[100] = 99;
        types[101] = int.MinValue;
        var tokenizer = Tokenizer.FromGguf(TinyWith(("tokenizer.ggml.token_type", GgufValue.Array(types))));
        Assert.Equal(TokenAttributes.Undefined, tokenizer.GetAttributes(100));
        Assert.Equal(TokenAttributes.Undefined, tokenizer.GetAttributes(101));
    }

    [Fact]
    public void A_file_with_short_scores_is_refused_by_the_engine_loader()
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-short-scores-{Environment.ProcessId}.gguf");
        try
        {
            using (var source = GgufFile.Open(Path.Combine(TestSupport.SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf")))
            {
                var writer = new GgufWriter();
                foreach (var entry in source.Metadata.Entries)
                {
                    writer.Add(entry.Key, entry.Key == "tokenizer.ggml.scores" ? GgufValue.Array(new float[10]) : entry.Value);
                }

                foreach (var tensor in source.Tensors)
                {
                    writer.AddTensor(tensor.Name, tensor.Type, [.. tensor.Shape], source.GetData(tensor).ToArray());
                }

                writer.Write(path);
            }

            var ex = Assert.Throws<UnsupportedModelException>(() => GenericModel.Load(path, new ModelOptions { ContextLength = 16, Threads = 1 }));
            Assert.Equal($"{Path.GetFileName(path)}: tokenizer.ggml.scores has 10 entries, tokenizer.ggml.tokens 672", ex.Message);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
