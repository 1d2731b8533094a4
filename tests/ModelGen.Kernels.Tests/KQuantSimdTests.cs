using System.Runtime.Intrinsics;
using ModelGen.Kernels.Formats;
using ModelGen.Kernels.Simd;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>
/// The SIMD steps of the K-quant kernels against plain scalar arithmetic, including the fallbacks this CPU does not
/// take (no GFNI before .NET 10, portable paths elsewhere), so a path that the dot tests cannot reach is still checked.
/// </summary>
public sealed unsafe class KQuantSimdTests
{
    private static readonly byte[] Bytes = TestData.Bytes(8 * 32, 17);

    [Fact]
    public void ScaledByteDot_equals_scalar_arithmetic_on_every_width()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            // Within the kernels' bounds: unsigned quants up to 63, int8 activations, 16-bit scales.
            var u = Enumerable.Range(0, 64).Select(_ => (byte)rng.Next(64)).ToArray();
            var s = Enumerable.Range(0, 64).Select(_ => (sbyte)rng.Next(-128, 128)).ToArray();
            var a = Enumerable.Range(0, 64).Select(_ => (sbyte)rng.Next(-127, 128)).ToArray();
            var b = Enumerable.Range(0, 64).Select(_ => (sbyte)rng.Next(-127, 128)).ToArray();
            var laneScales = Enumerable.Range(0, 16).Select(_ => (short)rng.Next(-128, 128)).ToArray();
            var scales = Enumerable.Range(0, 32).Select(i => laneScales[i / 2]).ToArray();
            var expectedU8 = Enumerable.Range(0, 16).Select(i => laneScales[i] * Enumerable.Range(4 * i, 4).Sum(j => u[j] * s[j])).ToArray();
            var expectedS8 = Enumerable.Range(0, 16).Select(i => laneScales[i] * Enumerable.Range(4 * i, 4).Sum(j => a[j] * b[j])).ToArray();

            Assert.Equal(expectedU8, ToArray(ScaledByteDot.MultiplyAddU8S8(Vector512.Create(u), Vector512.Create(s), Vector512.Create(scales))));
            Assert.Equal(expectedS8, ToArray(ScaledByteDot.MultiplyAddS8S8(Vector512.Create(a), Vector512.Create(b), Vector512.Create(scales))));
            for (int half = 0; half < 2; half++)
            {
                Assert.Equal(expectedU8[(8 * half)..(8 * half + 8)], ToArray(ScaledByteDot.MultiplyAddU8S8(
                    Vector256.Create(u, 32 * half), Vector256.Create(s, 32 * half), Vector256.Create(scales, 16 * half))));
                Assert.Equal(expectedS8[(8 * half)..(8 * half + 8)], ToArray(ScaledByteDot.MultiplyAddS8S8(
                    Vector256.Create(a, 32 * half), Vector256.Create(b, 32 * half), Vector256.Create(scales, 16 * half))));
            }

            for (int quarter = 0; quarter < 4; quarter++)
            {
                var expectedU8Lanes = expectedU8[(4 * quarter)..(4 * quarter + 4)];
                var expectedS8Lanes = expectedS8[(4 * quarter)..(4 * quarter + 4)];
                var u128 = Vector128.Create(u, 16 * quarter);
                var s128 = Vector128.Create(s, 16 * quarter);
                var a128 = Vector128.Create(a, 16 * quarter);
                var b128 = Vector128.Create(b, 16 * quarter);
                var scales128 = Vector128.Create(scales, 8 * quarter);
                Assert.Equal(expectedU8Lanes, ToArray(ScaledByteDot.MultiplyAddU8S8(u128, s128, scales128)));
                Assert.Equal(expectedU8Lanes, ToArray(ScaledByteDot.MultiplyAddU8S8Portable(u128, s128, scales128)));
                Assert.Equal(expectedS8Lanes, ToArray(ScaledByteDot.MultiplyAddS8S8(a128, b128, scales128)));
                Assert.Equal(expectedS8Lanes, ToArray(ScaledByteDot.MultiplyAddS8S8Portable(a128, b128, scales128)));
            }
        }
    }

    [Fact]
    public void WordDot_equals_scalar_arithmetic()
    {
        var rng = new Random(6);
        for (int trial = 0; trial < 200; trial++)
        {
            var a = Enumerable.Range(0, 16).Select(_ => (short)rng.Next(short.MinValue + 1, short.MaxValue + 1)).ToArray();
            var b = Enumerable.Range(0, 16).Select(_ => (short)rng.Next(short.MinValue + 1, short.MaxValue + 1)).ToArray();
            var expected = Enumerable.Range(0, 8).Select(i => a[2 * i] * b[2 * i] + a[2 * i + 1] * b[2 * i + 1]).ToArray();
            Assert.Equal(expected, ToArray(WordDot.MultiplyAdd(Vector256.Create(a), Vector256.Create(b))));
            Assert.Equal(expected[..4], ToArray(WordDot.MultiplyAdd(Vector128.Create(a), Vector128.Create(b))));
            Assert.Equal(expected[4..], ToArray(WordDot.MultiplyAddPortable(Vector128.Create(a, 8), Vector128.Create(b, 8))));
        }
    }

    [Fact]
    public void BitFields_move_every_field_the_kernels_use()
    {
        fixed (byte* bytes = Bytes)
        {
            for (int offset = 0; offset < Bytes.Length - 32; offset += 32)
            {
                byte* source = bytes + offset;
                foreach (int width in (int[])[1, 2, 4])
                {
                    for (int target = 0; target + width <= 8; target++)
                    {
                        for (int first = 0; first + width <= 8; first++)
                        {
                            int second = (first + 3) % (9 - width);
                            var spread = BitFields.Spread512(source, first, second, width, target);
                            var field256 = BitFields.Field(Vector256.Load(source), first, width, target);
                            var field128 = BitFields.Field(Vector128.Load(source + 16), first, width, target);
                            for (int j = 0; j < 32; j++)
                            {
                                int mask = (1 << width) - 1;
                                Assert.Equal((byte)((source[j] >> first & mask) << target), spread[j]);
                                Assert.Equal((byte)((source[j] >> second & mask) << target), spread[32 + j]);
                                Assert.Equal(spread[j], field256[j]);
                            }

                            for (int j = 0; j < 16; j++)
                            {
                                Assert.Equal(spread[16 + j], field128[j]);
                            }
                        }
                    }
                }

                var pairs = BitFields.NibblePairs512(source);
                Assert.Equal(PackedQuants.NibblePairs(ref *source, 16), pairs);
                for (int j = 0; j < 16; j++)
                {
                    Assert.Equal(source[j] & 0xF, pairs[j]);
                    Assert.Equal(source[j] >> 4, pairs[16 + j]);
                    Assert.Equal(source[16 + j] & 0xF, pairs[32 + j]);
                    Assert.Equal(source[16 + j] >> 4, pairs[48 + j]);
                }
            }
        }
    }

    [Fact]
    public void Fifth_bit_pairs_put_0x10_on_every_set_bit()
    {
        var random = new Random(7);
        foreach (ulong bits in new[] { 0UL, ulong.MaxValue, 0x8000_0000_0000_0001UL, 0x0F0F_F0F0_1234_5678UL }.Concat(Enumerable.Range(0, 64).Select(_ => (ulong)random.NextInt64())))
        {
            var spread = PackedQuants.FifthBitPairs(bits);
            for (int j = 0; j < 64; j++)
            {
                Assert.Equal((bits >> j & 1) != 0 ? 0x10 : 0, spread[j]);
            }

            Assert.Equal(PackedQuants.SpreadBitPairs(bits) & Vector512.Create((byte)0x10), spread);
        }
    }

    [Fact]
    public void Scale_indices_select_each_lanes_sub_block()
    {
        foreach (int size in (int[])[16, 32])
        {
            for (int first = 0; first < 8; first++)
            {
                var indices = SubBlockScales.Indices512(first, size);
                for (int lane = 0; lane < 32; lane++)
                {
                    Assert.Equal(first + 2 * lane / size, indices[lane]);
                }
            }
        }
    }

    [Fact]
    public void Scale_broadcast_fills_every_lane_with_one_scale()
    {
        var scales = Vector128.Create((short)-32, 31, 7, 0, 63, -1, 12, 5);
        for (int index = 0; index < 8; index++)
        {
            Assert.Equal(Vector128.Create(scales[index]), SubBlockScales.Broadcast(scales, index));
            Assert.Equal(Vector256.Create(scales[index]), SubBlockScales.Broadcast(Vector256.Create(scales, scales), index));
        }
    }

    [Fact]
    public void Fast_half_conversion_equals_ggml_arithmetic_for_every_non_NaN_half()
    {
        for (int bits = 0; bits < 1 << 16; bits++)
        {
            var half = BitConverter.UInt16BitsToHalf((ushort)bits);
            if (!Half.IsNaN(half))
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(FloatConversions.HalfToSingle(half)), BitConverter.SingleToInt32Bits(KQuants.HalfToSingle(half)));
            }
        }
    }

    private static int[] ToArray(Vector512<int> v)
    {
        var lanes = new int[Vector512<int>.Count];
        v.CopyTo(lanes);
        return lanes;
    }

    private static int[] ToArray(Vector256<int> v)
    {
        var lanes = new int[Vector256<int>.Count];
        v.CopyTo(lanes);
        return lanes;
    }

    private static int[] ToArray(Vector128<int> v)
    {
        var lanes = new int[Vector128<int>.Count];
        v.CopyTo(lanes);
        return lanes;
    }
}
