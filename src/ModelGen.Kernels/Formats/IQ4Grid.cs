namespace ModelGen.Kernels.Formats;

/// <summary>
/// The non-linear 4-bit grid that IQ4_NL and IQ4_XS share (<see cref="IQ4_NL.Values"/>): the nearest grid point of a
/// value, and the scale search of ggml's <c>quantize_row_iq4_nl_impl</c>.
/// </summary>
internal static class IQ4Grid
{
    /// <summary>ggml's <c>best_index_int8</c>: binary search of the grid, ties to the upper point.</summary>
    public static int NearestPoint(float x)
    {
        var grid = IQ4_NL.Values;
        if (x <= grid[0])
        {
            return 0;
        }

        if (x >= grid[^1])
        {
            return grid.Length - 1;
        }

        int lower = 0, upper = grid.Length - 1;
        while (upper - lower > 1)
        {
            int middle = (lower + upper) / 2;
            if (x < grid[middle])
            {
                upper = middle;
            }
            else
            {
                lower = middle;
            }
        }

        return x - grid[upper - 1] < grid[upper] - x ? upper - 1 : upper;
    }

    /// <summary>
    /// The scale search for one group of weights, each weighted by its square: the least-squares scale for the
    /// nearest grid points at <c>max / -127</c>, then at the <c>2 * steps + 1</c> scales <c>(step - 127) / max</c>
    /// around it, keeping the best fit. ggml runs it with 7 steps (IQ4_XS, and IQ4_NL as llama-quantize writes it).
    /// </summary>
    public static float SearchScale(ReadOnlySpan<float> x, int steps)
    {
        float max = ScalarQuantization.SignedMaximum(x);
        if (MathF.Abs(max) < KQuants.GroupMaxEps)
        {
            return 0;
        }

        var grid = IQ4_NL.Values;
        var (sumqx, sumq2) = Fit(x, 1 / (-max / grid[0]));
        float d = sumq2 > 0 ? sumqx / sumq2 : 0f;
        float best = d * sumqx;
        for (int step = -steps; step <= steps; step++)
        {
            (sumqx, sumq2) = Fit(x, (step + grid[0]) / max);
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }

        return d;
    }

    /// <summary>The x²-weighted sums of q·x and q·q over the nearest grid points q of <paramref name="id"/>·x.</summary>
    private static (float SumQX, float SumQ2) Fit(ReadOnlySpan<float> x, float id)
    {
        float sumqx = 0, sumq2 = 0;
        foreach (float value in x)
        {
            float q = IQ4_NL.Values[NearestPoint(id * value)];
            float w = value * value;
            sumqx += w * q * value;
            sumq2 += w * q * q;
        }

        return (sumqx, sumq2);
    }
}
