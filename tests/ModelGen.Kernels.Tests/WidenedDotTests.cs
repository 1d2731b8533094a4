using System.Runtime.InteropServices;
using ModelGen.Kernels.Formats;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>
/// F16 rows dotted against FP16 activations widened once (attention's query and probabilities): the widened order
/// against a scalar layout, and the dots against a scalar sum and, bit for bit, against the dot of the FP16 rows.
/// </summary>
public sealed class WidenedDotTests
{
    /// <summary>Below, at and between whole steps of every width (8, 16 and 32 elements), and the head sizes attention uses.</summary>
    public static TheoryData<SimdPath, int> PathsAndLengths()
    {
        var data = new TheoryData<SimdPath, int>();
        foreach (var path in SimdPaths.Supported)
        {
            foreach (int length in new[] { 0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 127, 128, 129, 257 })
            {
                data.Add(path, length);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Widening_stores_each_whole_step_even_elements_then_odd(SimdPath path, int length)
    {
        var halves = RandomHalves(length, seed: length);
        var widened = new float[length];
        F16.WidenActivations(path, halves, widened);

        // FloatDot reads two vectors per step, the even elements into the first and the odd into the second.
        int step = path switch { SimdPath.Vector512 => 32, SimdPath.Vector256 => 16, SimdPath.Vector128 => 8, _ => 0 };
        int stepped = step == 0 ? 0 : length / step * step;
        for (int i = 0; i < length; i++)
        {
            Assert.Equal((float)halves[i < stepped ? Source(i, step) : i], widened[i]);
        }

        static int Source(int i, int step)
        {
            int start = i - i % step, lane = i % step, half = step / 2;
            return lane < half ? start + 2 * lane : start + 2 * (lane - half) + 1;
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Dot_against_widened_activations_is_the_FP16_dot_bit_for_bit(SimdPath path, int length)
    {
        var weights = RandomHalves(length, seed: 2 * length + 1);
        var activations = RandomHalves(length, seed: 2 * length + 2);
        var widened = new float[length];
        F16.WidenActivations(path, activations, widened);

        float actual = F16.Dot(path, MemoryMarshal.AsBytes(weights.AsSpan()), widened);

        float fp16Dot = F16.Dot(path, MemoryMarshal.AsBytes(weights.AsSpan()), MemoryMarshal.AsBytes(activations.AsSpan()), length);
        Assert.Equal(BitConverter.SingleToUInt32Bits(fp16Dot), BitConverter.SingleToUInt32Bits(actual));
        AssertNear(ScalarDot(weights, activations), actual);
    }

    /// <summary>Rows a gap apart, fewer than, as many as and more than a vector's worth on each path.</summary>
    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void DotRows_is_the_widened_dot_of_each_row(SimdPath path, int length)
    {
        var activations = RandomHalves(length, seed: 3 * length + 1);
        var widened = new float[length];
        F16.WidenActivations(path, activations, widened);
        int stride = length + 3;
        foreach (int rows in new[] { 0, 1, 3, 4, 5, 8, 15, 16, 17, 33 })
        {
            var weights = RandomHalves(Math.Max(0, (rows - 1) * stride + length), seed: 3 * length + 2 + rows);
            var results = new float[rows];
            F16.DotRows(path, weights, stride, widened, results);

            for (int r = 0; r < rows; r++)
            {
                var row = weights.AsSpan(r * stride, length);
                float rowDot = F16.Dot(path, MemoryMarshal.AsBytes(row), widened);
                Assert.True(BitConverter.SingleToUInt32Bits(rowDot) == BitConverter.SingleToUInt32Bits(results[r]), $"row {r} of {rows}: {results[r]}, not {rowDot}");
                AssertNear(ScalarDot(row, activations), results[r]);
            }
        }
    }

    [Fact]
    public void Rows_of_other_lengths_are_rejected()
    {
        var halves = new Half[32];
        Assert.Throws<ArgumentException>(() => F16.WidenActivations(SimdPath.Scalar, halves, new float[31]));
        Assert.Throws<ArgumentException>(() => F16.Dot(SimdPath.Scalar, MemoryMarshal.AsBytes(halves.AsSpan()), new float[31]));
        Assert.Throws<ArgumentException>(() => F16.DotRows(SimdPath.Scalar, halves, 8, new float[9], new float[4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => F16.DotRows(SimdPath.Scalar, halves, -8, new float[8], new float[4]));
        F16.DotRows(SimdPath.Scalar, halves, 8, new float[8], new float[4]);
    }

    /// <summary>The dot in double, and the sum of the products' magnitudes that bounds its float rounding error.</summary>
    private static (double Dot, double Magnitude) ScalarDot(ReadOnlySpan<Half> weights, ReadOnlySpan<Half> activations)
    {
        double dot = 0, magnitude = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            dot += (double)weights[i] * (double)activations[i];
            magnitude += Math.Abs((double)weights[i] * (double)activations[i]);
        }

        return (dot, magnitude);
    }

    private static void AssertNear((double Dot, double Magnitude) expected, float actual) =>
        Assert.True(Math.Abs(actual - expected.Dot) <= 1e-6 * expected.Magnitude, $"{actual} is not {expected.Dot} (magnitude {expected.Magnitude})");

    private static Half[] RandomHalves(int length, int seed) =>
        TestData.Floats(length, seed).Select(x => FloatConversions.SingleToHalf(x)).ToArray();
}
