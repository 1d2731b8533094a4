using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Threading;

namespace ModelGen.Runtime.Engine;

/// <summary>
/// The generic engine's forward pass for llama, qwen2 and qwen3: shapes and formats come from the file at run time.
/// Processes a batch of tokens: one sequence at consecutive positions (prefill), one token (decode), or tokens of
/// several sequences at their own positions (continuous batching); buffers are sized once for <see cref="MaxBatch"/>
/// tokens, so decoding allocates nothing.
/// </summary>
/// <remarks>
/// Arithmetic follows llama.cpp's CPU backend: activations are converted to each weight's <c>vec_dot_type</c> before
/// its dot products, RMSNorm sums squares in double, RoPE uses ggml's angle recurrence, and attention runs as
/// llama.cpp's non-flash path does: queries and keys meet as F16, the softmax is in float, and the probabilities
/// are rounded to F16 before they weight the F16 values.
/// </remarks>
public sealed class Transformer : IDisposable
{
    private readonly ModelConfig _c;
    private readonly ModelWeights _w;
    private readonly Attention _selfAttention;
    private readonly SequenceBatch _batch;
    private readonly KernelThreadPool _pool;
    private readonly bool _ownsPool;

    // Activations for up to MaxBatch tokens, row-major: [token][feature].
    private readonly float[] _x, _xb, _q, _k, _v, _attention, _gate, _up;
    private readonly byte[] _scratch;
    private readonly float[] _logits;

    public Transformer(ModelConfig config, ModelWeights weights, int contextLength, int maxBatch = 64, KernelThreadPool? pool = null, int sequenceCount = 1)
    {
        if (contextLength <= 0 || maxBatch <= 0 || sequenceCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), "context, batch and sequences must be positive");
        }

        _c = config;
        _w = weights;
        ContextLength = contextLength;
        MaxBatch = maxBatch;
        SequenceCount = sequenceCount;
        _pool = pool ?? new KernelThreadPool();
        _ownsPool = pool is null;
        _selfAttention = new Attention(config, contextLength, _pool, sequenceCount);
        _batch = new SequenceBatch(maxBatch, contextLength, sequenceCount);

        int n = maxBatch;
        _x = new float[n * config.EmbeddingLength];
        _xb = new float[n * Math.Max(config.EmbeddingLength, config.QueryLength)];
        _q = new float[n * config.QueryLength];
        _k = new float[n * config.KvLength];
        _v = new float[n * config.KvLength];
        _attention = new float[n * config.QueryLength];
        _gate = new float[n * config.FeedForwardLength];
        _up = new float[n * config.FeedForwardLength];
        _logits = new float[n * config.VocabularySize];

        int scratch = 0;
        foreach (var m in AllMatrices())
        {
            scratch = Math.Max(scratch, MatrixKernels.ActivationBytes(m.Type, m.Columns, n));
        }

        _scratch = new byte[scratch];
    }

    public ModelConfig Config => _c;

    /// <summary>Positions the KV cache holds per sequence.</summary>
    public int ContextLength { get; }

    /// <summary>Sequences (KV-cache slots) the cache holds.</summary>
    public int SequenceCount { get; }

    /// <summary>Most tokens one <see cref="Forward"/> call takes.</summary>
    public int MaxBatch { get; }

    public KernelThreadPool Pool => _pool;

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions <paramref name="position"/>, <paramref name="position"/> + 1, ...
    /// of sequence 0 and returns the logits: of every token when <paramref name="allLogits"/>, else of the last one.
    /// The returned span is valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false)
    {
        _batch.SetConsecutive(tokens.Length, position, allLogits);
        return Forward(tokens, _batch);
    }

    /// <summary>
    /// Runs token <c>t</c> at <paramref name="positions"/>[t] of sequence <paramref name="sequences"/>[t] and returns the
    /// logits of the rows whose <paramref name="outputs"/>[t] is set, in order. A sequence's tokens come in position
    /// order, and its cache already holds the positions before its first one here.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs)
    {
        if (tokens.Length != positions.Length)
        {
            throw new ArgumentException($"{tokens.Length} tokens need as many positions, not {positions.Length}", nameof(positions));
        }

        _batch.Set(positions, sequences, outputs);
        return Forward(tokens, _batch);
    }

    private ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, SequenceBatch batch)
    {
        int n = tokens.Length;
        int dim = _c.EmbeddingLength, qLen = _c.QueryLength, kvLen = _c.KvLength, ffn = _c.FeedForwardLength;
        var x = _x.AsSpan(0, n * dim);
        var xb = _xb.AsSpan(0, n * dim);
        for (int t = 0; t < n; t++)
        {
            Embed(tokens[t], x.Slice(t * dim, dim));
        }

        for (int l = 0; l < _c.LayerCount; l++)
        {
            var layer = _w.Layers[l];

            // Attention: normalise, project to queries, keys and values, rotate, cache, attend, project back.
            RmsNormRows(x, xb, dim, layer.AttentionNorm);
            var q = _q.AsSpan(0, n * qLen);
            var k = _k.AsSpan(0, n * kvLen);
            var v = _v.AsSpan(0, n * kvLen);
            MatMul(layer.Query, xb, q, layer.QueryBias);
            MatMul(layer.Key, xb, k, layer.KeyBias);
            MatMul(layer.Value, xb, v, layer.ValueBias);
            if (layer.QueryNorm is { } qNorm && layer.KeyNorm is { } kNorm)
            {
                RmsNorm.ApplyRows(q, _c.HeadDimension, qNorm, _c.RmsEpsilon);
                RmsNorm.ApplyRows(k, _c.HeadDimension, kNorm, _c.RmsEpsilon);
            }

            _selfAttention.RotateAndCache(l, q, k, v, batch);
            var attention = _attention.AsSpan(0, n * qLen);
            _selfAttention.Attend(l, q, attention, batch);
            var projected = _xb.AsSpan(0, n * dim);
            MatMul(layer.Output, attention, projected, null);
            Activations.Add(x, projected);

            // Feed-forward: normalise, SwiGLU, project back.
            RmsNormRows(x, xb, dim, layer.FeedForwardNorm);
            var gate = _gate.AsSpan(0, n * ffn);
            var up = _up.AsSpan(0, n * ffn);
            MatMul(layer.Gate, xb, gate, null);
            MatMul(layer.Up, xb, up, null);
            Activations.SwiGlu(gate, up);
            MatMul(layer.Down, gate, xb, null);
            Activations.Add(x, xb);
        }

        // Output: final norm and projection to the vocabulary, for the rows asked for.
        int rows = batch.GatherOutputs(x, dim);
        if (rows == 0)
        {
            return default;
        }

        RmsNormRows(x[..(rows * dim)], xb[..(rows * dim)], dim, _w.OutputNorm);
        var logits = _logits.AsSpan(0, rows * _c.VocabularySize);
        MatMul(_w.Output, xb[..(rows * dim)], logits, null);
        return logits;
    }

    public void Dispose()
    {
        if (_ownsPool)
        {
            _pool.Dispose();
        }
    }

    private void Embed(int token, Span<float> destination)
    {
        if ((uint)token >= (uint)_c.VocabularySize)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token id outside the vocabulary of {_c.VocabularySize}");
        }

        Dequantizer.Row(_w.TokenEmbedding.Type, _w.TokenEmbedding.Row(token), destination);
    }

    private void RmsNormRows(ReadOnlySpan<float> x, Span<float> y, int width, float[] weight)
    {
        for (int offset = 0; offset < x.Length; offset += width)
        {
            RmsNorm.Apply(x.Slice(offset, width), weight, y.Slice(offset, width), _c.RmsEpsilon);
        }
    }

    private void MatMul(in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, float[]? bias)
    {
        if (x.Length == w.Columns)
        {
            MatrixKernels.MatVec(w, x, y, _scratch, _pool);
        }
        else
        {
            MatrixKernels.MatMul(w, x, y, _scratch, _pool);
        }

        if (bias is not null)
        {
            for (int offset = 0; offset < y.Length; offset += bias.Length)
            {
                Activations.Add(y.Slice(offset, bias.Length), bias);
            }
        }
    }

    private IEnumerable<WeightMatrix> AllMatrices()
    {
        yield return _w.Output;
        foreach (var l in _w.Layers)
        {
            yield return l.Query;
            yield return l.Key;
            yield return l.Value;
            yield return l.Output;
            yield return l.Gate;
            yield return l.Up;
            yield return l.Down;
        }
    }
}
