using System.Runtime.InteropServices;
using ModelGen.Kernels;
using ModelGen.Kernels.Formats;
using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Threading;

namespace ModelGen.Runtime.Engine;

/// <summary>
/// Self-attention as llama.cpp's non-flash CPU path computes it: queries and keys rotated by position, keys and values
/// cached in F16, queries and keys meeting as F16, the softmax in float, and the probabilities rounded to F16 before
/// they weight the F16 values. One implementation for the generic engine and every compiled class, which is what
/// keeps their logits bit-identical.
/// </summary>
public sealed class Attention
{
    /// <summary>Least attention multiply-adds worth handing to another thread: a few microseconds of work.</summary>
    private const int WorkPerRange = 16 * 1024;

    private readonly KvCache _cache;

    /// <summary>Each block's rotation: the global one, or the sliding-window blocks' own base.</summary>
    private readonly Rope[] _ropes;

    /// <summary>Each block's window: positions it attends to, its own included; 0 for all.</summary>
    private readonly int[] _windows;

    /// <summary>Multiplies the rotated queries (then the scores are not scaled) when the architecture does so; else 1.</summary>
    private readonly float _queryScale;
    private readonly float _scoreScale;
    private readonly KernelThreadPool _pool;
    private readonly int _headCount, _kvHeadCount, _headDimension;
    private readonly float[] _ropeCache;
    private readonly Half[] _valueHalves;

    /// <summary>
    /// Attention for <paramref name="config"/>'s heads, with a cache of <paramref name="contextLength"/> positions per
    /// block for each of <paramref name="sequenceCount"/> sequences, and LongRoPE's <paramref name="ropeFactors"/> if
    /// the model has them: the long ones when the context is longer than the model's original one, as llama.cpp chooses.
    /// </summary>
    public Attention(ModelConfig config, int contextLength, KernelThreadPool pool, int sequenceCount = 1,
        (float[]? Long, float[]? Short) ropeFactors = default)
    {
        var factors = contextLength > config.RopeOriginalContextLength ? ropeFactors.Long : ropeFactors.Short;
        _cache = new KvCache(config.LayerCount, contextLength, config.KvLength, sequenceCount);
        var global = new Rope(config.RopeDimensions, config.RopeBase, config.RopeFrequencyScale, config.RopeStyle, factors, config.RopeAttentionFactor);
        var local = config.SlidingWindow > 0
            ? new Rope(config.RopeDimensions, config.RopeBaseSlidingWindow, 1f, config.RopeStyle, factors, config.RopeAttentionFactor)
            : global;
        _ropes = new Rope[config.LayerCount];
        _windows = new int[config.LayerCount];
        for (int block = 0; block < config.LayerCount; block++)
        {
            bool windowed = config.IsSlidingWindowBlock(block);
            _ropes[block] = windowed ? local : global;
            _windows[block] = windowed ? config.SlidingWindow : 0;
        }

        (_queryScale, _scoreScale) = config.Rules.ScalesQueries ? (config.AttentionScale, 1f) : (1f, config.AttentionScale);
        _pool = pool;
        (_headCount, _kvHeadCount, _headDimension) = (config.HeadCount, config.KvHeadCount, config.HeadDimension);
        _ropeCache = new float[config.RopeDimensions];
        _valueHalves = new Half[config.KvLength];
    }

    /// <summary>
    /// Rotates the queries and keys of the <paramref name="batch"/>'s tokens by their positions, and stores their keys
    /// and values in block <paramref name="block"/>'s cache of their sequences.
    /// </summary>
    public void RotateAndCache(int block, Span<float> q, Span<float> k, ReadOnlySpan<float> v, SequenceBatch batch)
    {
        int qLength = _headCount * _headDimension, kvLength = _cache.KvLength;
        for (int t = 0; t < batch.Count; t++)
        {
            int position = batch.Positions[t], sequence = batch.Sequences[t];
            var rope = _ropes[block];
            var query = q.Slice(t * qLength, qLength);
            rope.Fill(position, _ropeCache);
            rope.Apply(query, _headDimension, _ropeCache);
            rope.Apply(k.Slice(t * kvLength, kvLength), _headDimension, _ropeCache);
            if (_queryScale != 1f)
            {
                Activations.Scale(query, _queryScale);
            }

            F16.Quantize(SimdPaths.Best, k.Slice(t * kvLength, kvLength), MemoryMarshal.AsBytes(_cache.Key(block, sequence, position)));
            F16.Quantize(SimdPaths.Best, v.Slice(t * kvLength, kvLength), MemoryMarshal.AsBytes(_valueHalves.AsSpan()));
            _cache.StoreValue(block, sequence, position, _valueHalves);
        }
    }

    /// <summary>
    /// Causal attention of the <paramref name="batch"/>'s queries over block <paramref name="block"/>'s cache, which
    /// already holds them (<see cref="RotateAndCache"/>): each token sees its own sequence's positions up to its own.
    /// </summary>
    public unsafe void Attend(int block, ReadOnlySpan<float> q, Span<float> output, SequenceBatch batch)
    {
        fixed (float* queries = q)
        fixed (float* heads = output)
        {
            // Each (token, head) pair costs about 2 * length * HeadDimension multiply-adds; a range gets enough to be worth a thread.
            int grain = Math.Max(1, WorkPerRange / (2 * batch.Span * _headDimension));
            _pool.For(batch.Count * _headCount, grain, new Heads(this, block, queries, heads, batch));
        }
    }

    /// <summary>Per-thread attention scratch, sized once to the longest context used: decoding allocates nothing.</summary>
    private static class ScoreScratch
    {
        [ThreadStatic]
        private static float[]? t_buffer;

        public static Span<float> AsSpan(int length) =>
            (t_buffer is { } b && b.Length >= length ? b : t_buffer = new float[length]).AsSpan(0, length);
    }

    private static class ProbabilityScratch
    {
        [ThreadStatic]
        private static Half[]? t_buffer;

        public static Span<Half> AsSpan(int length) =>
            (t_buffer is { } b && b.Length >= length ? b : t_buffer = new Half[length]).AsSpan(0, length);
    }

    /// <summary>Causal attention of each (token, query head) pair of the batch over the cache.</summary>
    private readonly unsafe struct Heads(Attention a, int block, float* q, float* output, SequenceBatch batch) : IRangeBody
    {
        public void Execute(int start, int end)
        {
            var cache = a._cache;
            int hd = a._headDimension, heads = a._headCount, group = heads / a._kvHeadCount, qLength = heads * hd;
            int window = a._windows[block];
            float scale = a._scoreScale;
            var scores = ScoreScratch.AsSpan(cache.ContextLength);
            var probabilities = ProbabilityScratch.AsSpan(cache.ContextLength);
            Span<Half> queryHalves = stackalloc Half[hd];
            Span<float> query = stackalloc float[hd];
            for (int item = start; item < end; item++)
            {
                int t = item / heads, h = item % heads, kvHead = h / group;
                // A sliding-window block sees the last `window` positions, its own included (llama.cpp's standard SWA mask).
                int sequence = batch.Sequences[t], seen = batch.Positions[t] + 1;
                int first = window > 0 ? Math.Max(0, seen - window) : 0, length = seen - first;

                // Scores: the query rounded to F16 (as ggml's mul_mat converts it), widened once, against each cached key.
                var qHead = new ReadOnlySpan<float>(q + (long)t * qLength + h * hd, hd);
                F16.Quantize(SimdPaths.Best, qHead, MemoryMarshal.AsBytes(queryHalves));
                F16.WidenActivations(SimdPaths.Best, queryHalves, query);
                var s = scores[..length];
                F16.DotRows(SimdPaths.Best, cache.Keys(block, sequence, seen)[(first * cache.KvLength + kvHead * hd)..], cache.KvLength, query, s);
                for (int j = 0; j < length; j++)
                {
                    s[j] *= scale;
                }

                // Probabilities, rounded to F16 and widened back into the scores, weight the transposed values.
                Softmax.Apply(s);
                var p = probabilities[..length];
                F16.Quantize(SimdPaths.Best, s, MemoryMarshal.AsBytes(p));
                F16.WidenActivations(SimdPaths.Best, p, s);
                var outHead = new Span<float>(output + (long)t * qLength + h * hd, hd);
                F16.DotRows(SimdPaths.Best, cache.ValueRows(block, sequence, kvHead * hd, hd, seen)[first..], cache.ContextLength, s, outHead);
            }
        }
    }
}
