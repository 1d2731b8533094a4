namespace ModelGen.Runtime.Sampling;

/// <summary>
/// Picks the next token from logits: penalties, then top-k, top-p and min-p on the probabilities, then temperature,
/// then a seeded draw (llama.cpp's default chain order). Buffers are sized once for the vocabulary; sampling allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private readonly float[] _logits;
    private readonly int[] _ids;
    private readonly float[] _probabilities;
    private readonly Dictionary<int, int> _counts = [];
    private readonly LogitComparer _byLogit;

    // Span.Sort with an IComparer wraps it in a new delegate on every call; this one is made once.
    private readonly Comparison<int> _compareByLogit;

    public Sampler(SamplingOptions options, int vocabularySize)
    {
        _options = options;
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
        _logits = new float[vocabularySize];
        _ids = new int[vocabularySize];
        _probabilities = new float[vocabularySize];
        _byLogit = new LogitComparer(_logits);
        _compareByLogit = _byLogit.Compare;
    }

    public SamplingOptions Options => _options;

    /// <summary>Chooses a token given the <paramref name="logits"/> of the next position and the tokens so far.</summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> history)
    {
        var l = _logits.AsSpan(0, logits.Length);
        logits.CopyTo(l);
        ApplyPenalties(l, history);

        if (_options.Temperature <= 0)
        {
            return ArgMax(l);
        }

        // Candidates sorted by logit, cut to top-k.
        int n = l.Length;
        var ids = _ids.AsSpan(0, n);
        for (int i = 0; i < n; i++)
        {
            ids[i] = i;
        }

        int k = _options.TopK > 0 ? Math.Min(_options.TopK, n) : n;
        SortDescending(ids, k);
        ids = ids[..k];

        // Probabilities of the candidates (before temperature, as llama.cpp filters them).
        var p = _probabilities.AsSpan(0, k);
        SoftmaxOf(l, ids, p, 1f);
        int keep = k;
        if (_options.TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < k; i++)
            {
                cumulative += p[i];
                if (cumulative >= _options.TopP)
                {
                    keep = i + 1;
                    break;
                }
            }
        }

        if (_options.MinP > 0f)
        {
            float threshold = _options.MinP * p[0];
            int i = 1;
            while (i < keep && p[i] >= threshold)
            {
                i++;
            }

            keep = i;
        }

        ids = ids[..keep];
        p = p[..keep];
        SoftmaxOf(l, ids, p, 1f / _options.Temperature);
        double draw = _random.NextDouble(), sum = 0;
        for (int i = 0; i < keep; i++)
        {
            sum += p[i];
            if (draw < sum)
            {
                return ids[i];
            }
        }

        return ids[keep - 1];
    }

    private void ApplyPenalties(Span<float> logits, ReadOnlySpan<int> history)
    {
        var o = _options;
        if (o.RepetitionPenalty == 1f && o.FrequencyPenalty == 0f && o.PresencePenalty == 0f)
        {
            return;
        }

        _counts.Clear();
        foreach (int token in history[Math.Max(0, history.Length - o.PenaltyWindow)..])
        {
            _counts[token] = _counts.GetValueOrDefault(token) + 1;
        }

        foreach (var (token, count) in _counts)
        {
            if ((uint)token >= (uint)logits.Length)
            {
                continue;
            }

            ref float logit = ref logits[token];
            logit = logit <= 0 ? logit * o.RepetitionPenalty : logit / o.RepetitionPenalty;
            logit -= count * o.FrequencyPenalty + o.PresencePenalty;
        }
    }

    /// <summary>The index of the largest logit; the lowest index among equals, as llama.cpp's greedy sampler.</summary>
    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Puts the <paramref name="k"/> ids of largest logit (of <see cref="_logits"/>) first, in descending order.</summary>
    private void SortDescending(Span<int> ids, int k)
    {
        if (k == ids.Length)
        {
            ids.Sort(_compareByLogit);
            return;
        }

        // Partial selection: keep the best k in a min-heap at the front of ids, then sort those k.
        var heap = ids[..k];
        for (int i = k / 2 - 1; i >= 0; i--)
        {
            SiftDown(heap, i);
        }

        for (int i = k; i < ids.Length; i++)
        {
            if (_byLogit.Compare(ids[i], heap[0]) < 0)
            {
                heap[0] = ids[i];
                SiftDown(heap, 0);
            }
        }

        heap.Sort(_compareByLogit);
    }

    /// <summary>Restores the min-heap order (worst candidate at the root) below <paramref name="i"/>.</summary>
    private void SiftDown(Span<int> heap, int i)
    {
        while (true)
        {
            int worst = i, left = 2 * i + 1, right = left + 1;
            if (left < heap.Length && _byLogit.Compare(heap[left], heap[worst]) > 0)
            {
                worst = left;
            }

            if (right < heap.Length && _byLogit.Compare(heap[right], heap[worst]) > 0)
            {
                worst = right;
            }

            if (worst == i)
            {
                return;
            }

            (heap[i], heap[worst]) = (heap[worst], heap[i]);
            i = worst;
        }
    }

    private static void SoftmaxOf(ReadOnlySpan<float> logits, ReadOnlySpan<int> ids, Span<float> p, float inverseTemperature)
    {
        float max = logits[ids[0]] * inverseTemperature;
        double sum = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            p[i] = MathF.Exp(logits[ids[i]] * inverseTemperature - max);
            sum += p[i];
        }

        for (int i = 0; i < ids.Length; i++)
        {
            p[i] = (float)(p[i] / sum);
        }
    }

    /// <summary>Orders token ids by descending logit, then ascending id, so ties break as llama.cpp's do.</summary>
    private sealed class LogitComparer(float[] logits) : IComparer<int>
    {
        public int Compare(int a, int b) => logits[b].CompareTo(logits[a]) is var c && c != 0 ? c : a.CompareTo(b);
    }
}
