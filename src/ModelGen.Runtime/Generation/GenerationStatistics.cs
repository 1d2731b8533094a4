using System.Globalization;

namespace ModelGen.Runtime.Generation;

/// <summary>Token counts and timings of one generation.</summary>
public sealed class GenerationStatistics
{
    public int PromptTokens { get; internal set; }

    public TimeSpan PrefillTime { get; internal set; }

    /// <summary>Tokens sampled (and streamed).</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>Single-token forward passes run after the prompt.</summary>
    public int DecodedTokens { get; internal set; }

    public TimeSpan DecodeTime { get; internal set; }

    public double PrefillTokensPerSecond => PromptTokens / Math.Max(PrefillTime.TotalSeconds, 1e-9);

    public double DecodeTokensPerSecond => DecodedTokens / Math.Max(DecodeTime.TotalSeconds, 1e-9);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"prompt {PromptTokens} tokens in {PrefillTime.TotalMilliseconds:0} ms ({PrefillTokensPerSecond:0.0} tok/s), " +
        $"generated {GeneratedTokens} tokens, decode {DecodeTokensPerSecond:0.0} tok/s");
}
