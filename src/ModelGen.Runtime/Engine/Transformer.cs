using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Threading;

namespace ModelGen.Runtime.Engine;

/// <summary>
/// The generic engine's forward pass: each block runs its architecture's steps (<see cref="ArchitectureRules.Block"/>)
/// in order, with shapes and formats from the file at run time.
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
    private readonly MixtureOfExperts? _experts;
    private readonly SequenceBatch _batch;
    private readonly KernelThreadPool _pool;
    private readonly bool _ownsPool;

    // Activations for up to MaxBatch tokens, row-major: [token][feature].
    private readonly float[] _x, _xb, _q, _k, _v, _attention, _gate, _up;

    /// <summary>Fused projections' outputs, for architectures that have them (empty otherwise).</summary>
    private readonly float[] _qkv, _gateUp;
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
        _selfAttention = new Attention(config, contextLength, _pool, sequenceCount, weights.RopeFactors);
        _batch = new SequenceBatch(maxBatch, contextLength, sequenceCount);
        _experts = config.Rules.HasExperts ? new MixtureOfExperts(config, maxBatch, _pool) : null;

        int n = maxBatch;
        _x = new float[n * config.EmbeddingLength];
        _xb = new float[n * Math.Max(config.EmbeddingLength, config.QueryLength)];
        _q = new float[n * config.QueryLength];
        _k = new float[n * config.KvLength];
        _v = new float[n * config.KvLength];
        _attention = new float[n * config.QueryLength];
        _gate = new float[n * config.FeedForwardLength];
        _up = new float[n * config.FeedForwardLength];
        _qkv = new float[config.Rules.Uses(ActivationBuffer.Qkv) ? n * ArchitectureRules.Width(ActivationBuffer.Qkv, config) : 0];
        _gateUp = new float[config.Rules.Uses(ActivationBuffer.GateUp) ? n * ArchitectureRules.Width(ActivationBuffer.GateUp, config) : 0];
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

    /// <summary>Most tokens one forward pass takes.</summary>
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
        _batch.Set(tokens.Length, positions, sequences, outputs);
        return Forward(tokens, _batch);
    }

    private ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, SequenceBatch batch)
    {
        int n = tokens.Length, dim = _c.EmbeddingLength;
        var x = _x.AsSpan(0, n * dim);
        var xb = _xb.AsSpan(0, n * dim);
        for (int t = 0; t < n; t++)
        {
            Embed(tokens[t], x.Slice(t * dim, dim));
        }

        for (int l = 0; l < _c.LayerCount; l++)
        {
            foreach (var step in _w.Layers[l])
            {
                Run(step, l, batch);
            }
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

    /// <summary>One step of block <paramref name="block"/> over the batch's rows.</summary>
    private void Run(in BoundStep bound, int block, SequenceBatch batch)
    {
        int n = batch.Count;
        switch (bound.Step)
        {
            case NormStep norm:
                RmsNormRows(Rows(norm.From, n), Rows(norm.To, n), ArchitectureRules.Width(norm.To, _c), bound.Vector!);
                break;
            case HeadNormStep norm:
                RmsNorm.ApplyRows(Rows(norm.Target, n), _c.HeadDimension, bound.Vector!, _c.RmsEpsilon);
                break;
            case ProjectStep project:
                MatMul(bound.Matrix, Rows(project.From, n), Rows(project.To, n), bound.Bias);
                break;
            case AttendStep:
                var q = Rows(ActivationBuffer.Q, n);
                _selfAttention.RotateAndCache(block, q, Rows(ActivationBuffer.K, n), Rows(ActivationBuffer.V, n), batch);
                _selfAttention.Attend(block, q, Rows(ActivationBuffer.Attention, n), batch);
                break;
            case MixtureOfExpertsStep:
                _experts!.Apply(bound.Matrix, bound.Experts![0], bound.Experts[1], bound.Experts[2], Rows(ActivationBuffer.Xb, n), n);
                break;
            case SplitStep split:
                Columns.Split(Rows(split.From, n), n, Rows(split.To[0], n), Rows(split.To[1], n), split.To.Count > 2 ? Rows(split.To[2], n) : default);
                break;
            case ResidualStep residual:
                Activations.Add(Rows(ActivationBuffer.X, n), Rows(residual.From, n));
                break;
            case GatedActivationStep { Function: GateFunction.Silu }:
                Activations.SwiGlu(Rows(ActivationBuffer.Gate, n), Rows(ActivationBuffer.Up, n));
                break;
            case GatedActivationStep { Function: GateFunction.GeluTanh }:
                Gelu.Gate(Rows(ActivationBuffer.Gate, n), Rows(ActivationBuffer.Up, n));
                break;
            default:
                throw new NotSupportedException($"the generic engine has no implementation of {bound.Step}");
        }
    }

    /// <summary>The first <paramref name="n"/> rows of <paramref name="buffer"/>.</summary>
    private Span<float> Rows(ActivationBuffer buffer, int n)
    {
        var (rows, width) = buffer switch
        {
            ActivationBuffer.X => (_x, _c.EmbeddingLength),
            ActivationBuffer.Xb => (_xb, _c.EmbeddingLength),
            ActivationBuffer.Q => (_q, _c.QueryLength),
            ActivationBuffer.K => (_k, _c.KvLength),
            ActivationBuffer.V => (_v, _c.KvLength),
            ActivationBuffer.Attention => (_attention, _c.QueryLength),
            ActivationBuffer.Gate => (_gate, _c.FeedForwardLength),
            ActivationBuffer.Up => (_up, _c.FeedForwardLength),
            ActivationBuffer.Qkv => (_qkv, ArchitectureRules.Width(buffer, _c)),
            _ => (_gateUp, ArchitectureRules.Width(buffer, _c)),
        };
        return rows.AsSpan(0, n * width);
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
        if (_c.EmbeddingScale != 1f)
        {
            Activations.Scale(destination, _c.EmbeddingScale);
        }
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

    private IEnumerable<WeightMatrix> AllMatrices() =>
        _w.Layers.SelectMany(steps => steps).Where(s => s.Step is ProjectStep).Select(s => s.Matrix).Append(_w.Output);
}
