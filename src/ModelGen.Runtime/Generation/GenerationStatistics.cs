using System.Globalization;

namespace ModelGen.Runtime.Generation;

/// <summary>Token counts and timings of one generation.</summary>
public sealed class GenerationStatistics
{
    /// <summary>Prompt tokens run: those after <see cref="CachedTokens"/>.</summary>
    public int PromptTokens { get; internal set; }

    /// <summary>Prompt tokens found in the KV cache from an earlier generation and not run again.</summary>
    public int CachedTokens { get; internal set; }

    public TimeSpan PrefillTime { get; internal set; }

    /// <summary>Tokens sampled (and streamed).</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>Single-token forward passes run after the prompt.</summary>
    public int DecodedTokens { get; internal set; }

    public TimeSpan DecodeTime { get; internal set; }

    /// <summary>Why generation ended; <see cref="GenerationStopReason.None"/> while it runs.</summary>
    public GenerationStopReason StopReason { get; internal set; }

    public double PrefillTokensPerSecond => PromptTokens / Math.Max(PrefillTime.TotalSeconds, 1e-9);

    public double DecodeTokensPerSecond => DecodedTokens / Math.Max(DecodeTime.TotalSeconds, 1e-9);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"prompt {PromptTokens} tokens in {PrefillTime.TotalMilliseconds:0} ms ({PrefillTokensPerSecond:0.0} tok/s), " +
        $"generated {GeneratedTokens} tokens, decode {DecodeTokensPerSecond:0.0} tok/s");
}

/// <summary>Why a generation ended.</summary>
public enum GenerationStopReason
{
    /// <summary>Not ended yet (or ended by an exception other than cancellation).</summary>
    None,

    /// <summary>The model sampled an end-of-generation token.</summary>
    EndOfGeneration,

    /// <summary>One of <see cref="GenerationOptions.StopStrings"/> was generated.</summary>
    StopString,

    /// <summary><see cref="GenerationOptions.MaxTokens"/> tokens were generated.</summary>
    TokenLimit,

    /// <summary>The context holds no more tokens.</summary>
    ContextFull,

    /// <summary>The cancellation token was cancelled.</summary>
    Cancelled,
}
