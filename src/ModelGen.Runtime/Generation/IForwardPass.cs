namespace ModelGen.Runtime.Generation;

/// <summary>
/// A model's forward pass: what the generation loop needs, implemented by the generic engine and by compiled
/// model classes alike.
/// </summary>
public interface IForwardPass
{
    /// <summary>Positions the KV cache holds.</summary>
    int ContextLength { get; }

    /// <summary>Logits per position.</summary>
    int VocabularySize { get; }

    /// <summary>Most tokens one <see cref="Forward"/> call takes.</summary>
    int MaxBatch { get; }

    /// <summary>
    /// Runs <paramref name="tokens"/> at consecutive positions from <paramref name="position"/> and returns the
    /// logits of the last token, or of every token when <paramref name="allLogits"/>. Valid until the next call.
    /// </summary>
    ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false);
}
