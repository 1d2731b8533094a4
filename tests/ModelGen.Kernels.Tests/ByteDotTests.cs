using System.Runtime.Intrinsics;
using ModelGen.Kernels.Simd;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>
/// The shared integer dot steps against a plain scalar sum, on every width, with inputs at the limits each
/// method documents (where pmaddubsw's int16 pair sums would saturate beyond them).
/// </summary>
public sealed class ByteDotTests
{
    private const int Rounds = 200;

    [Fact]
    public void MultiplyAddU8S8_sums_four_products_per_lane()
    {
        // u up to 127 against any s keeps |u0*s0 + u1*s1| <= 2*127*128 = 32512: no saturation.
        foreach (var (u, s) in Inputs(seed: 1, maxUnsigned: 127, minSigned: -128))
        {
            var expected = Expected(u, s);
            Assert.Equal(expected, ByteDot.MultiplyAddU8S8(Vector512.Create(u), Vector512.Create(s)).Lanes());
            Assert.Equal(expected[..8], ByteDot.MultiplyAddU8S8(Vector256.Create(u[..32]), Vector256.Create(s[..32])).Lanes());
            Assert.Equal(expected[..4], ByteDot.MultiplyAddU8S8(Vector128.Create(u[..16]), Vector128.Create(s[..16])).Lanes());
            Assert.Equal(expected[..4], ByteDot.MultiplyAddU8S8Portable(Vector128.Create(u[..16]), Vector128.Create(s[..16])).Lanes());
        }
    }

    [Fact]
    public void Portable_MultiplyAddU8S8_is_exact_for_any_bytes()
    {
        foreach (var (u, s) in Inputs(seed: 2, maxUnsigned: 255, minSigned: -128))
        {
            Assert.Equal(Expected(u, s)[..4], ByteDot.MultiplyAddU8S8Portable(Vector128.Create(u[..16]), Vector128.Create(s[..16])).Lanes());
        }
    }

    [Fact]
    public void MultiplyAddS8S8_sums_four_signed_products_per_lane()
    {
        // int8 quantizers produce -127 to 127; a may be -128 (its magnitude 128 is still a valid u8).
        foreach (var (u, b) in Inputs(seed: 3, maxUnsigned: 255, minSigned: -127))
        {
            var a = u.Select(x => (sbyte)x).ToArray();
            var expected = Expected(a, b);
            Assert.Equal(expected, ByteDot.MultiplyAddS8S8(Vector512.Create(a), Vector512.Create(b)).Lanes());
            Assert.Equal(expected[..8], ByteDot.MultiplyAddS8S8(Vector256.Create(a[..32]), Vector256.Create(b[..32])).Lanes());
            Assert.Equal(expected[..4], ByteDot.MultiplyAddS8S8(Vector128.Create(a[..16]), Vector128.Create(b[..16])).Lanes());
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void MultiplyAddCenteredU8S8_subtracts_the_zero_point(byte center)
    {
        foreach (var (u, s) in Inputs(seed: 4 + center, maxUnsigned: 31, minSigned: -128))
        {
            var centered = u.Select(x => (sbyte)(x - center)).ToArray();
            var expected = Expected(centered, s);
            Assert.Equal(expected, ByteDot.MultiplyAddCenteredU8S8(Vector512.Create(u), center, Vector512.Create(s)).Lanes());
            Assert.Equal(expected[..8], ByteDot.MultiplyAddCenteredU8S8(Vector256.Create(u[..32]), center, Vector256.Create(s[..32])).Lanes());
            Assert.Equal(expected[..4], ByteDot.MultiplyAddCenteredU8S8(Vector128.Create(u[..16]), center, Vector128.Create(s[..16])).Lanes());
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void Center_products_taken_beforehand_give_the_centered_sums(byte center)
    {
        foreach (var (u, s) in Inputs(seed: 6 + center, maxUnsigned: 31, minSigned: -128))
        {
            var centerProducts = ByteDot.CenterProducts(center, Vector512.Create(s));
            var portable = ByteDot.CenterProductsPortable(center, Vector512.Create(s));
            var pairs = Enumerable.Range(0, 32).Select(i => (short)(center * (s[2 * i] + s[2 * i + 1]))).ToArray();
            Assert.Equal(pairs, Enumerable.Range(0, 32).Select(i => centerProducts.GetElement(i)));
            Assert.Equal(pairs, Enumerable.Range(0, 32).Select(i => portable.GetElement(i)));

            var centered = u.Select(x => (sbyte)(x - center)).ToArray();
            Assert.Equal(Expected(centered, s), ByteDot.MultiplyAddU8S8Less(Vector512.Create(u), Vector512.Create(s), centerProducts).Lanes());
        }
    }

    /// <summary>Random 64-byte inputs, plus the extremes: all at the limits, and alternating signs.</summary>
    private static IEnumerable<(byte[] U, sbyte[] S)> Inputs(int seed, int maxUnsigned, int minSigned)
    {
        yield return (Enumerable.Repeat((byte)maxUnsigned, 64).ToArray(), Enumerable.Repeat((sbyte)minSigned, 64).ToArray());
        yield return (Enumerable.Repeat((byte)maxUnsigned, 64).ToArray(), Enumerable.Repeat(sbyte.MaxValue, 64).ToArray());
        yield return (Enumerable.Repeat((byte)maxUnsigned, 64).ToArray(), Enumerable.Range(0, 64).Select(i => (sbyte)(i % 2 == 0 ? minSigned : 127)).ToArray());
        var bytes = TestData.Bytes(Rounds * 128, seed);
        for (int r = 0; r < Rounds; r++)
        {
            var u = bytes.AsSpan(r * 128, 64).ToArray().Select(x => (byte)(x % (maxUnsigned + 1))).ToArray();
            var s = bytes.AsSpan(r * 128 + 64, 64).ToArray().Select(x => (sbyte)Math.Max(minSigned, (sbyte)x)).ToArray();
            yield return (u, s);
        }
    }

    private static int[] Expected(byte[] u, sbyte[] s) =>
        Enumerable.Range(0, u.Length / 4).Select(i => Enumerable.Range(4 * i, 4).Sum(j => u[j] * s[j])).ToArray();

    private static int[] Expected(sbyte[] a, sbyte[] b) =>
        Enumerable.Range(0, a.Length / 4).Select(i => Enumerable.Range(4 * i, 4).Sum(j => a[j] * b[j])).ToArray();
}

internal static class VectorLanes
{
    public static int[] Lanes(this Vector512<int> v) => Enumerable.Range(0, Vector512<int>.Count).Select(i => v.GetElement(i)).ToArray();

    public static int[] Lanes(this Vector256<int> v) => Enumerable.Range(0, Vector256<int>.Count).Select(i => v.GetElement(i)).ToArray();

    public static int[] Lanes(this Vector128<int> v) => Enumerable.Range(0, Vector128<int>.Count).Select(i => v.GetElement(i)).ToArray();
}
