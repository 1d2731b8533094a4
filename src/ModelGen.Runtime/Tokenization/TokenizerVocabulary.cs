using ModelGen.Gguf;
using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// A tokenizer's definition as a GGUF file stores it (the <c>tokenizer.ggml.*</c> keys and the two <c>general.*</c>
/// keys llama.cpp consults): plain data, interpreted by <see cref="Tokenizer.Create"/>. Absent keys are null.
/// </summary>
public sealed record TokenizerVocabulary
{
    /// <summary><c>tokenizer.ggml.model</c>: <c>llama</c> (SentencePiece) or <c>gpt2</c> (byte-level BPE).</summary>
    public required string Model { get; init; }

    /// <summary><c>tokenizer.ggml.pre</c>: the pre-tokenizer of a BPE vocabulary.</summary>
    public string? PreTokenizer { get; init; }

    /// <summary><c>tokenizer.ggml.tokens</c>: every token's text, indexed by id.</summary>
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary><c>tokenizer.ggml.scores</c>: SentencePiece merge priorities (higher merges first).</summary>
    public IReadOnlyList<float>? Scores { get; init; }

    /// <summary><c>tokenizer.ggml.token_type</c>.</summary>
    public IReadOnlyList<GgufTokenType>? TokenTypes { get; init; }

    /// <summary><c>tokenizer.ggml.merges</c>: BPE merges, <c>"left right"</c>, highest priority first.</summary>
    public IReadOnlyList<string>? Merges { get; init; }

    /// <summary><c>tokenizer.ggml.bos_token_id</c>.</summary>
    public int? BosId { get; init; }

    /// <summary><c>tokenizer.ggml.eos_token_id</c>.</summary>
    public int? EosId { get; init; }

    /// <summary><c>tokenizer.ggml.eot_token_id</c>.</summary>
    public int? EotId { get; init; }

    /// <summary><c>tokenizer.ggml.eom_token_id</c>.</summary>
    public int? EomId { get; init; }

    /// <summary><c>tokenizer.ggml.unknown_token_id</c>.</summary>
    public int? UnknownId { get; init; }

    /// <summary><c>tokenizer.ggml.seperator_token_id</c> (sic).</summary>
    public int? SeparatorId { get; init; }

    /// <summary><c>tokenizer.ggml.padding_token_id</c>.</summary>
    public int? PaddingId { get; init; }

    /// <summary><c>tokenizer.ggml.mask_token_id</c>.</summary>
    public int? MaskId { get; init; }

    /// <summary><c>tokenizer.ggml.fim_pre_token_id</c>, or the older <c>prefix_token_id</c>, which wins when both exist.</summary>
    public int? FimPrefixId { get; init; }

    /// <summary><c>tokenizer.ggml.fim_suf_token_id</c>, or the older <c>suffix_token_id</c>.</summary>
    public int? FimSuffixId { get; init; }

    /// <summary><c>tokenizer.ggml.fim_mid_token_id</c>, or the older <c>middle_token_id</c>.</summary>
    public int? FimMiddleId { get; init; }

    /// <summary><c>tokenizer.ggml.fim_pad_token_id</c>.</summary>
    public int? FimPadId { get; init; }

    /// <summary><c>tokenizer.ggml.fim_rep_token_id</c>.</summary>
    public int? FimRepoId { get; init; }

    /// <summary><c>tokenizer.ggml.fim_sep_token_id</c>.</summary>
    public int? FimSeparatorId { get; init; }

    /// <summary><c>tokenizer.ggml.add_bos_token</c>.</summary>
    public bool? AddBos { get; init; }

    /// <summary><c>tokenizer.ggml.add_eos_token</c>.</summary>
    public bool? AddEos { get; init; }

    /// <summary><c>tokenizer.ggml.add_space_prefix</c>.</summary>
    public bool? AddSpacePrefix { get; init; }

    /// <summary><c>general.name</c>: llama.cpp keys some per-token attributes on it (Phi-3's stripping rules).</summary>
    public string? ModelName { get; init; }

    /// <summary><c>general.architecture</c>.</summary>
    public string? Architecture { get; init; }

    /// <summary>Reads the tokenizer keys of a GGUF file's metadata, and checks that they define a tokenizer this library builds.</summary>
    /// <exception cref="GgufFormatException">A key is missing or has the wrong type.</exception>
    /// <exception cref="UnsupportedModelException">
    /// The keys are inconsistent (no tokens, fewer scores or token types than tokens, byte-level BPE without merges)
    /// or name a tokenizer model or pre-tokenizer that is not implemented.
    /// </exception>
    public static TokenizerVocabulary FromGguf(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var vocabulary = Read(metadata);
        vocabulary.CheckBuildable(DisplayText.Escape(Path.GetFileName(metadata.Source)));
        return vocabulary;
    }

    private static TokenizerVocabulary Read(GgufMetadata metadata)
    {
        int? Id(string key) => metadata.TryGetInteger("tokenizer.ggml." + key) is { } id and >= 0 and <= int.MaxValue ? (int)id : null;
        bool? Flag(string key) => metadata.TryGetBoolean("tokenizer.ggml." + key);

        return new TokenizerVocabulary
        {
            Model = metadata.GetString("tokenizer.ggml.model"),
            PreTokenizer = metadata.TryGetString("tokenizer.ggml.pre"),
            Tokens = metadata.GetStringArray("tokenizer.ggml.tokens"),
            Scores = ReadScores(metadata),
            TokenTypes = metadata.ContainsKey("tokenizer.ggml.token_type")
                ? Array.ConvertAll(metadata.GetArray<int>("tokenizer.ggml.token_type"), t => (GgufTokenType)t)
                : null,
            Merges = metadata.ContainsKey("tokenizer.ggml.merges") ? metadata.GetStringArray("tokenizer.ggml.merges") : null,
            BosId = Id("bos_token_id"),
            EosId = Id("eos_token_id"),
            EotId = Id("eot_token_id"),
            EomId = Id("eom_token_id"),
            UnknownId = Id("unknown_token_id"),
            SeparatorId = Id("seperator_token_id"),
            PaddingId = Id("padding_token_id"),
            MaskId = Id("mask_token_id"),
            FimPrefixId = Id("prefix_token_id") ?? Id("fim_pre_token_id"),
            FimSuffixId = Id("suffix_token_id") ?? Id("fim_suf_token_id"),
            FimMiddleId = Id("middle_token_id") ?? Id("fim_mid_token_id"),
            FimPadId = Id("fim_pad_token_id"),
            FimRepoId = Id("fim_rep_token_id"),
            FimSeparatorId = Id("fim_sep_token_id"),
            AddBos = Flag("add_bos_token"),
            AddEos = Flag("add_eos_token"),
            AddSpacePrefix = Flag("add_space_prefix"),
            ModelName = metadata.TryGetString("general.name"),
            Architecture = metadata.TryGetString("general.architecture"),
        };
    }

    /// <summary>
    /// Everything <see cref="Tokenizer.Create"/> would otherwise refuse with a <see cref="FormatException"/> or a
    /// <see cref="NotSupportedException"/>, refused here with the file and the keys named. Special token ids out of
    /// range are not refused: llama.cpp keeps its default id for them, and so does <see cref="Tokenizer"/>.
    /// </summary>
    private void CheckBuildable(string file)
    {
        const string tokensKey = "tokenizer.ggml.tokens";
        if (Model is not ("llama" or "gpt2"))
        {
            throw new UnsupportedModelException($"{file}: tokenizer.ggml.model '{DisplayText.Escape(Model)}' is not supported (llama and gpt2 are)");
        }

        if (Tokens.Count == 0)
        {
            throw new UnsupportedModelException($"{file}: {tokensKey} is empty");
        }

        void CheckLength(string key, int? count)
        {
            if (count is { } c && c < Tokens.Count)
            {
                throw new UnsupportedModelException($"{file}: {key} has {c} entries, {tokensKey} {Tokens.Count}");
            }
        }

        CheckLength("tokenizer.ggml.scores", Scores?.Count);
        CheckLength("tokenizer.ggml.token_type", TokenTypes?.Count);
        if (Model == "gpt2")
        {
            if (!PreTokenizerSettings.Supports(PreTokenizer))
            {
                throw new UnsupportedModelException(
                    $"{file}: tokenizer.ggml.pre '{DisplayText.Escape(PreTokenizer!)}' is not supported; supported: {PreTokenizerSettings.SupportedNames}");
            }

            if (Merges is null)
            {
                throw new UnsupportedModelException($"{file}: tokenizer.ggml.model is gpt2 (byte-level BPE) but tokenizer.ggml.merges is missing");
            }
        }
    }

    // Scores are float32, or int32 in some older conversions.
    private static float[]? ReadScores(GgufMetadata metadata)
    {
        const string key = "tokenizer.ggml.scores";
        if (!metadata.ContainsKey(key))
        {
            return null;
        }

        return metadata.GetArray(key).Items switch
        {
            float[] scores => scores,
            int[] scores => Array.ConvertAll(scores, s => (float)s),
            _ => metadata.GetArray<float>(key), // throws, naming the key and the type found
        };
    }
}
