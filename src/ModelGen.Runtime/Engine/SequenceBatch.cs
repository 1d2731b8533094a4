namespace ModelGen.Runtime.Engine;

/// <summary>
/// Where the tokens of one forward pass go: row <c>t</c> is position <see cref="Positions"/>[t] of sequence (KV-cache
/// slot) <see cref="Sequences"/>[t], and its logits are wanted when <see cref="Outputs"/>[t]. A prefill is one
/// sequence at consecutive positions; a continuous-batching step mixes sequences, each at its own position. Owned by
/// one forward pass and refilled by each call, so a step allocates nothing.
/// </summary>
public sealed class SequenceBatch
{
    private readonly int _contextLength, _sequenceCount;

    /// <summary>A batch of up to <paramref name="maxBatch"/> rows over <paramref name="sequenceCount"/> caches of <paramref name="contextLength"/> positions.</summary>
    public SequenceBatch(int maxBatch, int contextLength, int sequenceCount)
    {
        (_contextLength, _sequenceCount) = (contextLength, sequenceCount);
        Positions = new int[maxBatch];
        Sequences = new int[maxBatch];
        Outputs = new bool[maxBatch];
    }

    /// <summary>Rows in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Rows whose logits are wanted.</summary>
    public int OutputCount { get; private set; }

    public int[] Positions { get; }

    public int[] Sequences { get; }

    public bool[] Outputs { get; }

    /// <summary>The longest attention span in the batch: the highest position plus one.</summary>
    public int Span { get; private set; }

    /// <summary>
    /// <paramref name="count"/> tokens of sequence 0 at positions from <paramref name="position"/>; the logits of the
    /// last, or of all when <paramref name="allLogits"/>.
    /// </summary>
    public void SetConsecutive(int count, int position, bool allLogits)
    {
        CheckCount(count);
        if (position < 0 || position + count > _contextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(position), $"positions {position}..{position + count - 1} exceed the context of {_contextLength}");
        }

        for (int t = 0; t < count; t++)
        {
            Positions[t] = position + t;
            Sequences[t] = 0;
            Outputs[t] = allLogits || t == count - 1;
        }

        Count = count;
        OutputCount = allLogits ? count : 1;
        Span = position + count;
    }

    /// <summary>Rows as given, for <paramref name="tokens"/> tokens: token <c>t</c> at <paramref name="positions"/>[t] of <paramref name="sequences"/>[t].</summary>
    public void Set(int tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs)
    {
        int count = tokens;
        CheckCount(count);
        if (positions.Length != count || sequences.Length != count || outputs.Length != count)
        {
            throw new ArgumentException(
                $"a batch of {count} tokens needs as many positions, sequences and output flags, not {positions.Length}, {sequences.Length} and {outputs.Length}");
        }

        int span = 0, wanted = 0;
        for (int t = 0; t < count; t++)
        {
            if ((uint)positions[t] >= (uint)_contextLength)
            {
                throw new ArgumentOutOfRangeException(nameof(positions), positions[t], $"row {t}: the position is outside the context of {_contextLength}");
            }

            if ((uint)sequences[t] >= (uint)_sequenceCount)
            {
                throw new ArgumentOutOfRangeException(nameof(sequences), sequences[t], $"row {t}: the cache holds sequences 0 to {_sequenceCount - 1}");
            }

            span = Math.Max(span, positions[t] + 1);
            wanted += outputs[t] ? 1 : 0;
        }

        positions.CopyTo(Positions);
        sequences.CopyTo(Sequences);
        outputs.CopyTo(Outputs);
        (Count, OutputCount, Span) = (count, wanted, span);
    }

    /// <summary>
    /// Moves the rows of <paramref name="rows"/> (each <paramref name="width"/> wide) whose logits are wanted to its
    /// front, in order, and returns how many there are.
    /// </summary>
    public int GatherOutputs(Span<float> rows, int width)
    {
        int kept = 0;
        for (int t = 0; t < Count; t++)
        {
            if (Outputs[t])
            {
                if (kept != t)
                {
                    rows.Slice(t * width, width).CopyTo(rows.Slice(kept * width, width));
                }

                kept++;
            }
        }

        return kept;
    }

    private void CheckCount(int count)
    {
        if (count == 0 || count > Positions.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"a forward pass takes 1 to {Positions.Length} tokens");
        }
    }
}
