namespace ModelGen.Runtime.Sampling;

/// <summary>How the next token is chosen. Defaults follow llama.cpp's command-line tools.</summary>
public sealed record SamplingOptions
{
    /// <summary>Softmax temperature; 0 or less picks the most likely token (greedy).</summary>
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Keep only the K most likely tokens; 0 disables.</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Keep the smallest set of tokens whose probabilities add up to P; 1 disables.</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>Drop tokens less likely than MinP times the most likely one; 0 disables.</summary>
    public float MinP { get; init; } = 0.05f;

    /// <summary>Divides positive (multiplies negative) logits of recently seen tokens; 1 disables.</summary>
    public float RepetitionPenalty { get; init; } = 1.0f;

    /// <summary>Subtracted from a seen token's logit once per occurrence; 0 disables.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Subtracted from a seen token's logit once; 0 disables.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>How many of the last tokens the penalties look at.</summary>
    public int PenaltyWindow { get; init; } = 64;

    /// <summary>Seed for reproducible sampling; null seeds from the clock.</summary>
    public int? Seed { get; init; }

    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };
}
