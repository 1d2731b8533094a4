using ModelGen.Runtime.Sampling;

namespace ModelGen.Runtime.Generation;

/// <summary>What to generate and when to stop.</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate at most; generation also ends at an end-of-generation token or a full context.</summary>
    public int MaxTokens { get; init; } = 128;

    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Texts that end generation; the stop text itself is not returned.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Whether special-token texts in the prompt (e.g. <c>&lt;|im_start|&gt;</c>) become special tokens.</summary>
    public bool ParseSpecialTokens { get; init; } = true;
}
