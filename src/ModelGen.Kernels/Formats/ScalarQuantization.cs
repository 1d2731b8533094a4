namespace ModelGen.Kernels.Formats;

/// <summary>The block statistics ggml's reference quantizers start from, with ggml's comparisons (which decide ties).</summary>
internal static class ScalarQuantization
{
    /// <summary>The value of largest magnitude, the first of equal magnitudes (0 for an all-zero block).</summary>
    public static float SignedMaximum(ReadOnlySpan<float> x)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (amax < MathF.Abs(v))
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }

        return max;
    }

    /// <summary>The largest magnitude.</summary>
    public static float AbsoluteMaximum(ReadOnlySpan<float> x)
    {
        float amax = 0;
        foreach (float v in x)
        {
            amax = amax > MathF.Abs(v) ? amax : MathF.Abs(v);
        }

        return amax;
    }

    /// <summary>The smallest and largest value.</summary>
    public static (float Min, float Max) Range(ReadOnlySpan<float> x)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        foreach (float v in x)
        {
            if (v < min)
            {
                min = v;
            }

            if (v > max)
            {
                max = v;
            }
        }

        return (min, max);
    }
}
