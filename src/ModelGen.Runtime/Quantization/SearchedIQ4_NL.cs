using System.Runtime.InteropServices;
using ModelGen.Kernels;
using ModelGen.Kernels.Formats;

namespace ModelGen.Runtime.Quantization;

/// <summary>
/// IQ4_NL as <c>ggml_quantize_chunk</c> writes it (<c>quantize_iq4_nl</c>), which is not
/// <see cref="IQ4_NL.QuantizeReference"/>: the chunk quantizer searches 15 more scales per block (llama.cpp's
/// <c>ntry = 7</c>; the reference passes -1 and keeps its first guess) and then picks every weight's grid point at
/// the chosen scale. Without an importance matrix each weight counts by its square.
/// </summary>
/// <remarks>
/// IQ4_XS's reference quantizer runs the same search on each of its 32-weight sub-blocks; this belongs beside it in
/// ModelGen.Kernels, where that search is private today.
/// </remarks>
internal static class SearchedIQ4_NL
{
    private const int Steps = 7;

    public static void Quantize(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockIQ4_NL>(blocks);
        if (values.Length % 32 != 0 || output.Length * 32 != values.Length)
        {
            throw new ArgumentException($"{values.Length} values do not fill {output.Length} IQ4_NL blocks", nameof(blocks));
        }

        for (int b = 0; b < output.Length; b++)
        {
            var x = values.Slice(32 * b, 32);
            float d = BestScale(x);
            ref var block = ref output[b];
            block.D = FloatConversions.SingleToHalf(d);
            float id = d != 0 ? 1 / d : 0;
            for (int j = 0; j < 16; j++)
            {
                block.Qs[j] = (byte)(NearestGridPoint(id * x[j]) | (NearestGridPoint(id * x[j + 16]) << 4));
            }
        }
    }

    /// <summary>The least-squares scale at <c>max / 127</c>, or at one of the 15 scales <c>(step - 127) / max</c> if it fits better.</summary>
    private static float BestScale(ReadOnlySpan<float> x)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (MathF.Abs(v) > amax)
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }

        if (amax < 1e-15f)
        {
            return 0;
        }

        var grid = IQ4_NL.Values;
        var (sumqx, sumq2) = Fit(x, 1 / (-max / grid[0]));
        float d = sumq2 > 0 ? sumqx / sumq2 : 0;
        float best = d * sumqx;
        for (int step = -Steps; step <= Steps; step++)
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
        foreach (float v in x)
        {
            float q = IQ4_NL.Values[NearestGridPoint(id * v)];
            float w = v * v;
            sumqx += w * q * v;
            sumq2 += w * q * q;
        }

        return (sumqx, sumq2);
    }

    /// <summary>ggml's <c>best_index_int8</c>: binary search of the grid, ties to the upper point.</summary>
    private static int NearestGridPoint(float x)
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
}
