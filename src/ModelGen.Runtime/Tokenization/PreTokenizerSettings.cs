namespace ModelGen.Runtime.Tokenization;

/// <summary>What a <c>tokenizer.ggml.pre</c> name selects in llama.cpp, for the names implemented here.</summary>
/// <param name="Kind">The split rules.</param>
/// <param name="CleanSpaces">Whether detokenizing removes spaces before punctuation and contractions.</param>
/// <param name="IgnoreMerges">Whether a word that is a token as a whole is taken without merging.</param>
/// <param name="AddBos">Whether BOS is added by default (before <c>tokenizer.ggml.add_bos_token</c> overrides it).</param>
/// <param name="HasDefaultBos">Whether the BPE default BOS id (11) applies before <c>tokenizer.ggml.bos_token_id</c>.</param>
internal sealed record PreTokenizerSettings(
    PreTokenizerKind Kind, bool CleanSpaces = true, bool IgnoreMerges = false, bool AddBos = false, bool HasDefaultBos = true)
{
    private static readonly Dictionary<string, PreTokenizerSettings> ByName = Build();

    /// <summary>The settings for <paramref name="name"/>; a BPE vocabulary without a name gets llama.cpp's default.</summary>
    /// <exception cref="NotSupportedException">The name is one this implementation does not know.</exception>
    public static PreTokenizerSettings For(string? name) =>
        string.IsNullOrEmpty(name) ? ByName["default"]
        : ByName.TryGetValue(name, out var settings) ? settings
        : throw new NotSupportedException($"pre-tokenizer '{name}' is not supported; supported: {SupportedNames}");

    /// <summary>Whether <see cref="For"/> knows <paramref name="name"/>.</summary>
    public static bool Supports(string? name) => string.IsNullOrEmpty(name) || ByName.ContainsKey(name);

    /// <summary>The names <see cref="For"/> knows, for messages.</summary>
    public static string SupportedNames => string.Join(", ", ByName.Keys.Order(StringComparer.Ordinal));

    private static Dictionary<string, PreTokenizerSettings> Build()
    {
        var table = new Dictionary<string, PreTokenizerSettings>(StringComparer.Ordinal);
        void Add(PreTokenizerSettings settings, params string[] names)
        {
            foreach (var name in names)
            {
                table.Add(name, settings);
            }
        }

        Add(new(PreTokenizerKind.Default), "default");
        Add(new(PreTokenizerKind.Llama3, IgnoreMerges: true, AddBos: true),
            "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano");
        Add(new(PreTokenizerKind.Llama3), "dbrx", "smaug-bpe");
        Add(new(PreTokenizerKind.Llama3, HasDefaultBos: false), "glm4", "chatglm-bpe");
        Add(new(PreTokenizerKind.DeepSeekCoder, CleanSpaces: false), "deepseek-coder");
        Add(new(PreTokenizerKind.Falcon), "falcon");
        Add(new(PreTokenizerKind.StarCoder), "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2");
        Add(new(PreTokenizerKind.StarCoder, CleanSpaces: false), "command-r", "smollm");
        Add(new(PreTokenizerKind.Gpt2),
            "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
            "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4");
        Add(new(PreTokenizerKind.Gpt2, CleanSpaces: false), "trillion", "granite-docling");
        Add(new(PreTokenizerKind.Qwen2, CleanSpaces: false), "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open");
        Add(new(PreTokenizerKind.Qwen2), "stablelm2", "megrez");
        return table;
    }
}
