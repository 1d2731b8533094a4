namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// Token texts llama.cpp recognizes special tokens by when a file does not name them (its <c>llama_vocab::load</c>
/// heuristics): such tokens become control tokens, and the end-of-generation ones stop generation.
/// </summary>
internal static class SpecialTexts
{
    public static readonly HashSet<string> EndOfTurn = Set(
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
        "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>");

    public static readonly HashSet<string> EndOfMessage = Set("<|eom_id|>");

    public static readonly HashSet<string> FimPrefix = Set(
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>");

    public static readonly HashSet<string> FimSuffix = Set(
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>");

    public static readonly HashSet<string> FimMiddle = Set(
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>");

    public static readonly HashSet<string> FimPad = Set("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");

    public static readonly HashSet<string> FimRepo = Set("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");

    public static readonly HashSet<string> FimSeparator = Set("<|file_sep|>");

    public static readonly HashSet<string> EndOfGeneration = Set(
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
        "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[");

    /// <summary>gpt-oss chat markers that always render (made user-defined).</summary>
    public static readonly HashSet<string> AlwaysRendered = Set("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>");

    private static HashSet<string> Set(params string[] texts) => new(texts, StringComparer.Ordinal);
}
