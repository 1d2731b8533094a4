namespace ModelGen.Kernels.Ops;

/// <summary>
/// Rotary position embedding with linear scaling, computed as ggml does: a cos/sin table per position built by
/// repeated multiplication of the angle by <c>base^(-2/dims)</c>, in float; with LongRoPE's per-dimension frequency
/// factors and magnitude when a model has them.
/// </summary>
public sealed class Rope
{
    private readonly float _thetaScale;
    private readonly float _frequencyScale;
    private readonly float[]? _frequencyFactors;
    private readonly float _magnitude;

    /// <param name="dimensions">Rotated dimensions per head (<c>rope.dimension_count</c>, usually the head size).</param>
    /// <param name="frequencyBase"><c>rope.freq_base</c>.</param>
    /// <param name="frequencyScale">1 / <c>rope.scaling.factor</c> for linear scaling, else 1.</param>
    /// <param name="style">Pairing of dimensions.</param>
    /// <param name="frequencyFactors">One divisor of the angle per rotated pair (LongRoPE's <c>rope_factors_*</c>), or null.</param>
    /// <param name="magnitude">Factor of every cos and sin (<c>rope.scaling.attn_factor</c>); 1 without.</param>
    public Rope(int dimensions, float frequencyBase, float frequencyScale, RopeStyle style, float[]? frequencyFactors = null, float magnitude = 1f)
    {
        if (frequencyFactors is not null && frequencyFactors.Length != dimensions / 2)
        {
            throw new ArgumentException($"{dimensions} rotated dimensions take {dimensions / 2} frequency factors, not {frequencyFactors.Length}", nameof(frequencyFactors));
        }

        _frequencyFactors = frequencyFactors;
        _magnitude = magnitude;
        if (dimensions <= 0 || dimensions % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "RoPE rotates an even number of dimensions");
        }

        Dimensions = dimensions;
        Style = style;
        _frequencyScale = frequencyScale;
        _thetaScale = MathF.Pow(frequencyBase, -2.0f / dimensions);
    }

    public int Dimensions { get; }

    public RopeStyle Style { get; }

    /// <summary>Fills <paramref name="cache"/> (<see cref="Dimensions"/> floats: cos, sin pairs) for <paramref name="position"/>.</summary>
    public void Fill(int position, Span<float> cache)
    {
        float theta = position;
        for (int i = 0; i < Dimensions; i += 2)
        {
            float angle = _frequencyScale * (_frequencyFactors is { } factors ? theta / factors[i / 2] : theta);
            cache[i] = MathF.Cos(angle) * _magnitude;
            cache[i + 1] = MathF.Sin(angle) * _magnitude;
            theta *= _thetaScale;
        }
    }

    /// <summary>Rotates each head of <paramref name="heads"/> (consecutive vectors of <paramref name="headSize"/>) in place.</summary>
    public void Apply(Span<float> heads, int headSize, ReadOnlySpan<float> cache)
    {
        for (int offset = 0; offset < heads.Length; offset += headSize)
        {
            var head = heads.Slice(offset, headSize);
            if (Style == RopeStyle.Normal)
            {
                for (int i = 0; i < Dimensions; i += 2)
                {
                    Rotate(ref head[i], ref head[i + 1], cache[i], cache[i + 1]);
                }
            }
            else
            {
                int half = Dimensions / 2;
                for (int i = 0; i < Dimensions; i += 2)
                {
                    Rotate(ref head[i / 2], ref head[i / 2 + half], cache[i], cache[i + 1]);
                }
            }
        }
    }

    private static void Rotate(ref float x0, ref float x1, float cos, float sin)
    {
        float a = x0, b = x1;
        x0 = a * cos - b * sin;
        x1 = a * sin + b * cos;
    }
}
