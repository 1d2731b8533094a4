using ModelGen.Runtime.Sampling;

namespace ModelGen.Runtime.Generation;

/// <summary>What to generate and when to stop.</summary>
public sealed record GenerationOptions
{
    /// <summary>
    /// Tokens to generate at most, or -1 for no limit but the context (llama.cpp's <c>-n -1</c>); generation also ends
    /// at an end-of-generation token, a stop string or a full context.
    /// </summary>
    public int MaxTokens { get; init; } = 128;

    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Texts that end generation; the stop text itself is not returned.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>
    /// Told (prompt tokens run so far, prompt tokens to run) after each batch of the prompt, so that a caller can show
    /// progress of a long prefill; null reports nothing.
    /// </summary>
    public IProgress<(int Done, int Total)>? PrefillProgress { get; init; }

    /// <summary>
    /// Called with this generation's statistics as it starts, before its prompt runs; they are complete when its
    /// enumeration ends. For callers whose generations may interleave with others': by the time they read
    /// <see cref="TextGenerator.Statistics"/>, it may already be the next generation's.
    /// </summary>
    public Action<GenerationStatistics>? Started { get; init; }

    /// <summary>Whether special-token texts in the prompt (e.g. <c>&lt;|im_start|&gt;</c>) become special tokens.</summary>
    public bool ParseSpecialTokens { get; init; } = true;
}
