namespace ModelGen.Kernels.Ops;

/// <summary>Root-mean-square normalisation as ggml computes it: the sum of squares in double, the scale in float.</summary>
public static class RmsNorm
{
    /// <summary><c>y = x / sqrt(mean(x²) + eps) * weight</c>; <paramref name="y"/> may alias <paramref name="x"/>.</summary>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, float eps)
    {
        if (weight.Length != x.Length || y.Length != x.Length)
        {
            throw new ArgumentException($"RmsNorm over {x.Length} values needs a weight and an output of the same length");
        }

        float scale = Scale(x, eps);
        for (int i = 0; i < x.Length; i++)
        {
            // ggml's fused rms_norm+mul evaluates (x * scale) * w in this order.
            y[i] = x[i] * scale * weight[i];
        }
    }

    /// <summary>
    /// The residual connection and the next norm in one pass over <paramref name="x"/>: <c>x += residual</c>, then
    /// <see cref="Apply"/> of the new <paramref name="x"/> into <paramref name="y"/>, bit for bit the two done apart.
    /// <paramref name="y"/> may alias <paramref name="residual"/>: it is written only after every sum is taken.
    /// </summary>
    public static void AddApply(Span<float> x, ReadOnlySpan<float> residual, ReadOnlySpan<float> weight, Span<float> y, float eps)
    {
        if (residual.Length != x.Length || weight.Length != x.Length || y.Length != x.Length)
        {
            throw new ArgumentException($"RmsNorm over {x.Length} values needs a residual, a weight and an output of the same length");
        }

        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i] + residual[i];
            x[i] = v;
            sum += v * v;
        }

        float scale = ScaleOf(sum, x.Length, eps);
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = x[i] * scale * weight[i];
        }
    }

    /// <summary>Normalises each of the <c>x.Length / width</c> consecutive rows of <paramref name="x"/> in place.</summary>
    public static void ApplyRows(Span<float> x, int width, ReadOnlySpan<float> weight, float eps)
    {
        for (int offset = 0; offset < x.Length; offset += width)
        {
            var row = x.Slice(offset, width);
            Apply(row, weight, row, eps);
        }
    }

    /// <summary><c>1 / sqrt(mean(x²) + eps)</c>, with ggml's double accumulation.</summary>
    public static float Scale(ReadOnlySpan<float> x, float eps)
    {
        double sum = 0;
        foreach (float v in x)
        {
            sum += v * v;
        }

        return ScaleOf(sum, x.Length, eps);
    }

    private static float ScaleOf(double sumOfSquares, int count, float eps)
    {
        float mean = (float)(sumOfSquares / count);
        return 1.0f / MathF.Sqrt(mean + eps);
    }
}
