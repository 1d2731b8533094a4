using ModelGen.Kernels;
using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Threading;

namespace ModelGen.Runtime.Engine;

/// <summary>
/// A mixture-of-experts feed-forward as llama.cpp's <c>build_moe_ffn</c> computes it for qwen3moe: router logits,
/// softmax, each token's top <c>ExpertsUsed</c> experts by probability, their probabilities normalised to sum to 1
/// (the sum clamped below at F16's smallest normal), each chosen expert's SwiGLU feed-forward, its output times its
/// weight, and the weighted outputs added in the order of choice. Shared by the generic engine and compiled classes.
/// </summary>
/// <remarks>
/// A batch is grouped by expert: each expert's matrices are read once for all the tokens that chose it, and an
/// expert no token chose is not read at all, so decoding reads only the chosen experts' rows.
/// </remarks>
public sealed class MixtureOfExperts
{
    private readonly int _width, _experts, _used, _hidden;
    private readonly KernelThreadPool _pool;

    // Per batch: router probabilities [token][expert], choices and weights [token][slot], each slot's weighted output
    // [token][slot][width], and one expert's gathered rows.
    private readonly float[] _probabilities, _weights, _slotOutputs, _rows, _gate, _up, _down;
    private readonly int[] _choices, _members;
    private byte[] _scratch = [];

    /// <summary>The mixture of <paramref name="config"/>'s experts for batches of up to <paramref name="maxBatch"/> tokens.</summary>
    public MixtureOfExperts(ModelConfig config, int maxBatch, KernelThreadPool pool)
    {
        (_width, _experts, _used, _hidden, _pool) = (config.EmbeddingLength, config.ExpertCount, config.ExpertsUsed, config.ExpertFeedForwardLength, pool);
        _probabilities = new float[maxBatch * _experts];
        _weights = new float[maxBatch * _used];
        _choices = new int[maxBatch * _used];
        _slotOutputs = new float[maxBatch * _used * _width];
        _members = new int[maxBatch];
        _rows = new float[maxBatch * _width];
        _gate = new float[maxBatch * _hidden];
        _up = new float[maxBatch * _hidden];
        _down = new float[maxBatch * _width];
    }

    /// <summary>
    /// Replaces each of the <paramref name="n"/> rows of <paramref name="x"/> (normalised activations) with the
    /// mixture's output for it.
    /// </summary>
    public void Apply(in WeightMatrix router, WeightMatrix[] gates, WeightMatrix[] ups, WeightMatrix[] downs, Span<float> x, int n)
    {
        var probabilities = _probabilities.AsSpan(0, n * _experts);
        Product(router, x[..(n * _width)], probabilities, n);
        for (int t = 0; t < n; t++)
        {
            Choose(probabilities.Slice(t * _experts, _experts), _choices.AsSpan(t * _used, _used), _weights.AsSpan(t * _used, _used));
        }

        for (int e = 0; e < _experts; e++)
        {
            // The (token, slot) pairs that chose expert e, and their rows gathered.
            int m = 0;
            for (int pair = 0; pair < n * _used; pair++)
            {
                if (_choices[pair] == e)
                {
                    _members[m] = pair;
                    x.Slice(pair / _used * _width, _width).CopyTo(_rows.AsSpan(m * _width, _width));
                    m++;
                }
            }

            if (m == 0)
            {
                continue;
            }

            var rows = _rows.AsSpan(0, m * _width);
            var gate = _gate.AsSpan(0, m * _hidden);
            var up = _up.AsSpan(0, m * _hidden);
            var down = _down.AsSpan(0, m * _width);
            Product(ups[e], rows, up, m);
            Product(gates[e], rows, gate, m);
            for (int r = 0; r < m; r++)
            {
                // Row by row, as ggml's SwiGLU takes its chunks and tail per row.
                Activations.SwiGlu(gate.Slice(r * _hidden, _hidden), up.Slice(r * _hidden, _hidden));
            }

            Product(downs[e], gate, down, m);
            for (int r = 0; r < m; r++)
            {
                int pair = _members[r];
                var output = _slotOutputs.AsSpan(pair * _width, _width);
                float weight = _weights[pair];
                var expertRow = down.Slice(r * _width, _width);
                for (int i = 0; i < _width; i++)
                {
                    output[i] = expertRow[i] * weight;
                }
            }
        }

        // Each token's weighted outputs added in the order of choice.
        for (int t = 0; t < n; t++)
        {
            var sum = x.Slice(t * _width, _width);
            _slotOutputs.AsSpan(t * _used * _width, _width).CopyTo(sum);
            for (int slot = 1; slot < _used; slot++)
            {
                Activations.Add(sum, _slotOutputs.AsSpan((t * _used + slot) * _width, _width));
            }
        }
    }

    /// <summary>Softmax of the router's logits, the top experts by probability (ties to the lower index), and their normalised weights.</summary>
    private void Choose(Span<float> logits, Span<int> choices, Span<float> weights)
    {
        Softmax.Apply(logits);
        for (int slot = 0; slot < choices.Length; slot++)
        {
            int best = -1;
            for (int e = 0; e < logits.Length; e++)
            {
                if ((best < 0 || logits[e] > logits[best]) && choices[..slot].IndexOf(e) < 0)
                {
                    best = e;
                }
            }

            choices[slot] = best;
            weights[slot] = logits[best];
        }

        double sum = 0;
        foreach (float w in weights)
        {
            sum += w;
        }

        float total = Math.Max((float)sum, 6.103515625e-5f);
        for (int slot = 0; slot < weights.Length; slot++)
        {
            weights[slot] /= total;
        }
    }

    private void Product(in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        // Sized by the largest conversion met, so only the first batches allocate.
        int bytes = MatrixKernels.ActivationBytes(w.Type, w.Columns, rows);
        if (_scratch.Length < bytes)
        {
            _scratch = new byte[bytes];
        }

        if (rows == 1)
        {
            MatrixKernels.MatVec(w, x, y, _scratch, _pool);
        }
        else
        {
            MatrixKernels.MatMul(w, x, y, _scratch, _pool);
        }
    }
}
