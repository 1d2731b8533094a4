namespace ModelGen.Runtime.Generation;

/// <summary>
/// A model's forward pass: what the generation loop needs, implemented by the generic engine and by compiled
/// model classes alike.
/// </summary>
public interface IForwardPass
{
    /// <summary>Positions the KV cache holds, per sequence.</summary>
    int ContextLength { get; }

    /// <summary>Sequences (KV-cache slots) the cache holds, each of <see cref="ContextLength"/> positions: 1 unless the model was loaded with more.</summary>
    int SequenceCount { get; }

    /// <summary>Logits per position.</summary>
    int VocabularySize { get; }

    /// <summary>Most tokens one forward pass takes.</summary>
    int MaxBatch { get; }

    /// <summary>
    /// Runs <paramref name="tokens"/> at consecutive positions of sequence 0 from <paramref name="position"/> and
    /// returns the logits of the last token, or of every token when <paramref name="allLogits"/>. Valid until the next call.
    /// </summary>
    ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false);

    /// <summary>
    /// Runs a batch whose tokens may belong to different sequences: token <c>i</c> at <paramref name="positions"/>[i]
    /// of sequence <paramref name="sequences"/>[i]. A sequence's tokens appear in position order, and its cache already
    /// holds the positions before its first one in the batch. Returns the logits of the rows whose
    /// <paramref name="outputs"/>[i] is set, in row order: [rows × vocabulary], valid until the next call. Each row's
    /// logits are those the sequence would get alone.
    /// </summary>
    ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs);
}
