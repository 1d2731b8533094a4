using System.Runtime.InteropServices;
using ModelGen.Kernels;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests.Formats;

/// <summary>Inputs for the format tests: random rows and 32-element blocks chosen to sit on ggml's rounding edges.</summary>
internal static class FormatTestData
{
    /// <summary>Odd and even block counts, so that the two-block vector steps and the single-block remainder both run.</summary>
    public static readonly int[] BlockCounts = [1, 3, 7, 33];

    public static readonly int[] Seeds = [1, 2, 3, 4, 5, 6];

    /// <summary>
    /// Blocks of 32 that each hit a rounding edge of some format: all zero; one huge outlier; a negative extreme;
    /// half-integer multiples of the scale, with an anchor that makes the scale exactly 1 for Q4_0 (-8), Q5_0
    /// (-16), Q8 (127), Q4_1 (0..15) and Q5_1 (0..31), so that every quant is an exact tie; a constant block;
    /// equal magnitudes of opposite sign; values so small the scale is an FP16 subnormal.
    /// </summary>
    public static float[] EdgeBlocks()
    {
        var rng = new Random(42);
        var blocks = new List<float[]>
        {
            Block(j => (float)(rng.NextDouble() - 0.5)),
            Block(_ => 0f),
            Block(j => j == 13 ? 3.0e4f : (float)(rng.NextDouble() - 0.5)),
            Block(j => j == 5 ? -3f : (float)(2 * rng.NextDouble() - 1)),
            Block(j => j == 0 ? -8f : rng.Next(-9, 8) + 0.5f),
            Block(j => j == 31 ? -16f : rng.Next(-17, 16) + 0.5f),
            Block(j => j == 7 ? 127f : rng.Next(-127, 127) + 0.5f),
            Block(j => j == 2 ? -127f : rng.Next(-127, 127) + 0.5f),
            Block(j => j == 0 ? 0f : j == 1 ? 15f : rng.Next(0, 15) + 0.5f),
            Block(j => j == 0 ? 0f : j == 1 ? 31f : rng.Next(0, 31) + 0.5f),
            Block(_ => 0.375f),
            Block(j => j % 2 == 0 ? 2.5f : -2.5f),
            Block(j => j % 2 == 0 ? -2.5f : 2.5f),
            Block(j => (float)(rng.NextDouble() - 0.5) * 1e-9f),
            Block(j => j == 20 ? -1e-3f : 0f),
        };
        return blocks.SelectMany(b => b).ToArray();

        static float[] Block(Func<int, float> value) => Enumerable.Range(0, 32).Select(value).ToArray();
    }

    /// <summary>Random rows of whole blocks at several scales, then the edge blocks.</summary>
    public static IEnumerable<float[]> Rows(int blockSize)
    {
        foreach (int seed in Seeds)
        {
            foreach (int blocks in BlockCounts)
            {
                float scale = seed % 3 == 0 ? 1e-3f : seed % 3 == 1 ? 1f : 200f;
                yield return TestData.Floats(blocks * 32, seed * 100 + blocks, scale);
            }
        }

        var edges = EdgeBlocks();
        yield return edges.Length % blockSize == 0 ? edges : throw new InvalidOperationException("edge blocks must fill whole blocks");
    }

    /// <summary>Random block bytes, with the FP16 fields at <paramref name="halfFields"/> set to finite values.</summary>
    public static byte[] RandomBlocks(int blocks, int blockBytes, int[] halfFields, int seed)
    {
        var bytes = TestData.Bytes(blocks * blockBytes, seed);
        var scales = TestData.Floats(blocks * halfFields.Length, seed + 1, scale: 0.05f);
        for (int b = 0; b < blocks; b++)
        {
            for (int f = 0; f < halfFields.Length; f++)
            {
                var half = FloatConversions.SingleToHalf(scales[b * halfFields.Length + f]);
                MemoryMarshal.Write(bytes.AsSpan(b * blockBytes + halfFields[f]), in half);
            }
        }

        return bytes;
    }

    public static void AssertBitsEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            uint e = BitConverter.SingleToUInt32Bits(expected[i]), a = BitConverter.SingleToUInt32Bits(actual[i]);
            if (e != a)
            {
                Assert.Fail($"element {i}: expected {expected[i]} (0x{e:X8}), got {actual[i]} (0x{a:X8})");
            }
        }
    }

    public static void AssertBytesEqual(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int blockBytes)
    {
        Assert.Equal(expected.Length, actual.Length);
        int mismatch = expected.CommonPrefixLength(actual);
        if (mismatch != expected.Length)
        {
            int block = mismatch / blockBytes;
            Assert.Fail($"byte {mismatch} (block {block}, offset {mismatch % blockBytes}): expected block " +
                $"{Convert.ToHexString(expected.Slice(block * blockBytes, blockBytes))}, got {Convert.ToHexString(actual.Slice(block * blockBytes, blockBytes))}");
        }
    }
}
