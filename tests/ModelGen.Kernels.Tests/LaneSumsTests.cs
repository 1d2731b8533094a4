using System.Runtime.Intrinsics;
using ModelGen.Kernels.Simd;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>Many vectors' horizontal sums at once, bit for bit against a scalar pairwise sum of each vector's lanes.</summary>
public sealed class LaneSumsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Each_lane_is_its_vectors_pairwise_sum(int seed)
    {
        // Magnitudes from 1e-3 to 1e3, so that a lane added out of order changes the rounding.
        var values = TestData.Floats(16 * 16, seed).Select((x, i) => x * MathF.Pow(10, i % 7 - 3)).ToArray();

        var v512 = Enumerable.Range(0, 16).Select(r => Vector512.Create(values.AsSpan(r * 16, 16))).ToArray();
        var sums512 = LaneSums.Of(v512.AsSpan());
        AssertLanes(values, 16, r => sums512.GetElement(r));
        var v256 = Enumerable.Range(0, 8).Select(r => Vector256.Create(values.AsSpan(r * 8, 8))).ToArray();
        var sums256 = LaneSums.Of(v256.AsSpan());
        AssertLanes(values, 8, r => sums256.GetElement(r));
        var v128 = Enumerable.Range(0, 4).Select(r => Vector128.Create(values.AsSpan(r * 4, 4))).ToArray();
        var sums128 = LaneSums.Of(v128.AsSpan());
        AssertLanes(values, 4, r => sums128.GetElement(r));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void One_vector_and_sixteen_halves_are_summed_in_the_same_order(int seed)
    {
        var values = TestData.Floats(16 * 16, seed).Select((x, i) => x * MathF.Pow(10, i % 7 - 3)).ToArray();

        // One vector at a time, at each width.
        AssertLanes(values, 16, r => LaneSums.Of(Vector512.Create(values.AsSpan(r * 16, 16))));
        AssertLanes(values, 8, r => LaneSums.Of(Vector256.Create(values.AsSpan(r * 8, 8))));
        AssertLanes(values, 4, r => LaneSums.Of(Vector128.Create(values.AsSpan(r * 4, 4))));

        // Sixteen 8-lane rows, two to a vector.
        var pairs = Enumerable.Range(0, 8).Select(k => Vector512.Create(values.AsSpan(k * 16, 16))).ToArray();
        var halves = LaneSums.OfHalves(pairs[0], pairs[1], pairs[2], pairs[3], pairs[4], pairs[5], pairs[6], pairs[7]);
        AssertLanes(values, 8, r => halves.GetElement(r), rows: 16);
    }

    [Fact]
    public void Other_counts_of_vectors_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => LaneSums.Of(new Vector512<float>[8]));
        Assert.Throws<ArgumentException>(() => LaneSums.Of(new Vector256<float>[4].AsSpan()));
        Assert.Throws<ArgumentException>(() => LaneSums.Of(new Vector128<float>[8].AsSpan()));
    }

    /// <summary>Row r of <paramref name="values"/>, <paramref name="lanes"/> long, sums to <paramref name="sum"/>(r) for each of <paramref name="rows"/> rows (by default, as many as lanes).</summary>
    private static void AssertLanes(float[] values, int lanes, Func<int, float> sum, int rows = 0)
    {
        for (int r = 0; r < (rows > 0 ? rows : lanes); r++)
        {
            float expected = PairwiseSum(values.AsSpan(r * lanes, lanes));
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(sum(r)), $"lane {r} of {lanes}: {sum(r)}, not {expected}");
        }
    }

    /// <summary>The scalar reference: each half summed alike, then the two halves added.</summary>
    private static float PairwiseSum(ReadOnlySpan<float> lanes) =>
        lanes.Length == 1 ? lanes[0] : PairwiseSum(lanes[..(lanes.Length / 2)]) + PairwiseSum(lanes[(lanes.Length / 2)..]);
}
