using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Formats;
using ModelGen.LlamaCpp;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>The rows the K-quant tests run on.</summary>
internal static class KQuantRows
{
    private const int BlockSize = 256;

    /// <summary>Random rows of 1, 3, 7 and 11 super-blocks from several seeds.</summary>
    public static IEnumerable<float[]> Random()
    {
        for (int seed = 1; seed <= 6; seed++)
        {
            foreach (int blocks in (int[])[1, 3, 7, 11])
            {
                yield return TestData.Floats(blocks * BlockSize, seed * 100 + blocks);
            }
        }
    }

    /// <summary>
    /// One super-block per case where quantizers branch or round on an edge: all zeros, one huge outlier, all
    /// negative, constant, below ggml's 1e-15 group threshold, one non-zero element, magnitudes that tie (the
    /// first decides the sign), exact half steps, small integers, and very small and very large scales.
    /// </summary>
    public static float[] Edges()
    {
        var rng = new Random(7);
        var blocks = new List<float[]>
        {
            new float[BlockSize],
            Block(i => i == 77 ? 1e4f : TestData.Floats(1, i)[0]),
            Block(i => -MathF.Abs(TestData.Floats(1, 1000 + i)[0]) - 0.01f),
            Block(_ => 0.37f),
            Block(_ => -2.5f),
            Block(i => (i % 3 - 1) * 1e-20f),
            Block(i => i == 200 ? -3f : 0f),
            Block(i => i % 2 == 0 ? 1.5f : -1.5f),
            Block(i => i == 0 ? -127f : (i % 255) - 127.5f),
            Block(_ => rng.Next(-8, 9)),
            Block(i => i % 16 == 0 ? 1f : 0f),
            Block(i => TestData.Floats(1, 2000 + i, 1e-3f)[0]),
            Block(i => TestData.Floats(1, 3000 + i, 1e3f)[0]),
        };
        return blocks.SelectMany(b => b).ToArray();
    }

    /// <summary>Super-blocks whose scales overflow, underflow or go subnormal in FP16: for quantize and dequantize only.</summary>
    public static float[] Extremes() =>
    [
        .. Block(i => TestData.Floats(1, 4000 + i, 1e30f)[0]),
        .. Block(i => TestData.Floats(1, 5000 + i, 1e-30f)[0]),
        .. Block(i => i % 7 == 0 ? 3e38f : TestData.Floats(1, 6000 + i, 1e-10f)[0]),
        .. Block(i => TestData.Floats(1, 7000 + i, 6e4f)[0]),
        .. Block(i => TestData.Floats(1, 8000 + i, 1e-6f)[0]),
    ];

    private static float[] Block(Func<int, float> value) => Enumerable.Range(0, BlockSize).Select(value).ToArray();
}

/// <summary>
/// ggml's Q8_K row functions, which its type traits leave out (Q8_K has no <c>to_float</c> or <c>from_float_ref</c>,
/// being only ever an activation format), called by their exported names in libggml-base.
/// </summary>
internal static unsafe class GgmlQ8K
{
    private static readonly Lazy<nint> Base = new(() =>
    {
        LlamaCppLibrary.EnsureLoaded();
        return NativeLibrary.Load(Path.Combine(LlamaCppLibrary.Directory, "libggml-base.so"));
    });

    /// <summary><c>quantize_row_q8_K_ref</c>.</summary>
    public static byte[] QuantizeReference(float[] values)
    {
        var quantize = (delegate* unmanaged<float*, byte*, long, void>)NativeLibrary.GetExport(Base.Value, "quantize_row_q8_K_ref");
        var blocks = new byte[GgmlType.Q8_K.Info().RowBytes(values.Length)];
        fixed (float* x = values)
        fixed (byte* y = blocks)
        {
            quantize(x, y, values.Length);
        }

        return blocks;
    }

    /// <summary><c>dequantize_row_q8_K</c>.</summary>
    public static float[] Dequantize(byte[] blocks, int count)
    {
        var dequantize = (delegate* unmanaged<byte*, float*, long, void>)NativeLibrary.GetExport(Base.Value, "dequantize_row_q8_K");
        var values = new float[count];
        fixed (byte* x = blocks)
        fixed (float* y = values)
        {
            dequantize(x, y, count);
        }

        return values;
    }
}

/// <summary>Differential tests of a K-quant block format against libggml.</summary>
/// <typeparam name="TFormat">The format.</typeparam>
/// <typeparam name="TBlock">Its block struct.</typeparam>
public abstract class KQuantFormatTests<TFormat, TBlock>
    where TFormat : IBlockFormat
    where TBlock : unmanaged
{
    /// <summary>Byte offsets of the block's FP16 fields, which random blocks must hold finite values in.</summary>
    protected abstract int[] HalfOffsets { get; }

    /// <summary><c>quantize_row_*_ref</c>.</summary>
    protected virtual byte[] ReferenceQuantize(float[] values) => GgmlReference.QuantizeReference(TFormat.Type, values);

    /// <summary><c>dequantize_row_*</c>.</summary>
    protected virtual float[] ReferenceDequantize(byte[] blocks, int count) => GgmlReference.Dequantize(TFormat.Type, blocks, count);

    [Fact]
    public void Block_struct_has_ggml_size()
    {
        var info = TFormat.Type.Info();
        Assert.Equal(info.BytesPerBlock, Unsafe.SizeOf<TBlock>());
        Assert.Equal(info.BytesPerBlock, TFormat.BlockBytes);
        Assert.Equal(info.BlockSize, TFormat.BlockSize);
    }

    [Fact]
    public void QuantizeReference_equals_ggml_byte_for_byte()
    {
        foreach (var row in KQuantRows.Random().Append(KQuantRows.Edges()).Append(KQuantRows.Extremes()))
        {
            var expected = ReferenceQuantize(row);
            var actual = new byte[expected.Length];
            TFormat.QuantizeReference(row, actual);
            AssertBlocksEqual(expected, actual);
        }
    }

    [Fact]
    public void Dequantize_equals_ggml_bit_for_bit()
    {
        var rows = KQuantRows.Random().Append(KQuantRows.Edges()).Append(KQuantRows.Extremes())
            .Select(ReferenceQuantize)
            .Concat(Enumerable.Range(1, 8).Select(seed => RandomBlocks(seed * 3, seed)));
        foreach (var blocks in rows)
        {
            int count = blocks.Length / TFormat.BlockBytes * TFormat.BlockSize;
            var expected = ReferenceDequantize(blocks, count);
            var actual = new float[count];
            TFormat.Dequantize(blocks, actual);
            Assert.Equal(MemoryMarshal.Cast<float, int>(expected).ToArray(), MemoryMarshal.Cast<float, int>(actual).ToArray());
        }
    }

    [Fact]
    public void Rows_that_are_not_whole_blocks_are_rejected()
    {
        var blocks = new byte[2 * TFormat.BlockBytes];
        Assert.Throws<ArgumentException>(() => TFormat.Dequantize(blocks, new float[TFormat.BlockSize]));
        Assert.Throws<ArgumentException>(() => TFormat.Dequantize(blocks, new float[2 * TFormat.BlockSize + 16]));
        Assert.Throws<ArgumentException>(() => TFormat.QuantizeReference(new float[3 * TFormat.BlockSize], blocks));
    }

    /// <summary>Random bytes, with finite FP16 scales.</summary>
    protected byte[] RandomBlocks(int count, int seed)
    {
        var bytes = TestData.Bytes(count * TFormat.BlockBytes, seed);
        var rng = new Random(seed);
        for (int b = 0; b < count; b++)
        {
            foreach (int offset in HalfOffsets)
            {
                // Any exponent but the all-ones of Inf and NaN.
                ushort bits = (ushort)rng.Next(1 << 16);
                if ((bits & 0x7C00) == 0x7C00)
                {
                    bits ^= 0x4000;
                }

                BitConverter.TryWriteBytes(bytes.AsSpan(b * TFormat.BlockBytes + offset), bits);
            }
        }

        return bytes;
    }

    private static void AssertBlocksEqual(byte[] expected, byte[] actual)
    {
        for (int b = 0; b < expected.Length; b += TFormat.BlockBytes)
        {
            var e = expected.AsSpan(b, TFormat.BlockBytes);
            var a = actual.AsSpan(b, TFormat.BlockBytes);
            if (!e.SequenceEqual(a))
            {
                Assert.Fail($"block {b / TFormat.BlockBytes} differs:\n ggml {Convert.ToHexString(e)}\n ours {Convert.ToHexString(a)}");
            }
        }
    }
}

/// <summary>Differential tests of a K-quant weight format's dot product with Q8_K against ggml's <c>vec_dot</c>.</summary>
public abstract class KQuantWeightTests<TFormat, TBlock> : KQuantFormatTests<TFormat, TBlock>
    where TFormat : IWeightFormat<Q8_K>
    where TBlock : unmanaged
{
    /// <summary>
    /// The allowed difference from ggml, relative to the sum of |w*a| over the row. Both sides compute each
    /// super-block's integer dot exactly; they differ only in how the float products d*sum are accumulated (ggml in
    /// eight or four lanes of FMAs, the kernels here in 4 to 16 lanes, two super-blocks interleaved, summed in
    /// another order): a few roundings of 2^-24 each. Measured: at most 1.2e-7 on rows of up to 65536 weights,
    /// so 1e-5 leaves room for rows far longer while still catching any wrong product.
    /// </summary>
    public const double Tolerance = 1e-5;

    [Fact]
    public void Ggml_pairs_the_format_with_Q8_K() => Assert.Equal(GgmlType.Q8_K, GgmlReference.VecDotType(TFormat.Type));

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Dot_equals_ggml_vec_dot(SimdPath path)
    {
        foreach (var (weights, activations, count) in DotCases())
        {
            float expected = GgmlReference.Dot(TFormat.Type, weights, activations, count);
            float actual = TFormat.Dot(path, weights, activations, count);
            double bound = Tolerance * AbsoluteDot(weights, activations, count);
            Assert.True(Math.Abs(actual - expected) <= bound, $"{count} elements: ggml {expected}, {path} {actual}, allowed {bound}");
        }
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Dot_rejects_mismatched_rows(SimdPath path)
    {
        var weights = new byte[2 * TFormat.BlockBytes];
        var activations = new byte[2 * Q8_K.BlockBytes];
        Assert.Throws<ArgumentException>(() => TFormat.Dot(path, weights, activations, TFormat.BlockSize));
        Assert.Throws<ArgumentException>(() => TFormat.Dot(path, weights, activations.AsSpan(1), 2 * TFormat.BlockSize));
        Assert.Equal(0f, TFormat.Dot(path, weights, activations, 2 * TFormat.BlockSize));
    }

    /// <summary>
    /// Weights quantized by ggml from the random and edge rows, and random raw blocks, against activations
    /// quantized by ggml's CPU backend from other random values.
    /// </summary>
    private IEnumerable<(byte[] Weights, byte[] Activations, int Count)> DotCases()
    {
        var weightRows = KQuantRows.Random().Append(KQuantRows.Edges())
            .Select(row => GgmlReference.QuantizeReference(TFormat.Type, row))
            .Concat(Enumerable.Range(1, 6).Select(seed => RandomBlocks(2 * seed - 1, 50 + seed)));
        int seed = 0;
        foreach (var weights in weightRows)
        {
            int count = weights.Length / TFormat.BlockBytes * TFormat.BlockSize;
            var activations = GgmlReference.QuantizeCpu(GgmlType.Q8_K, TestData.Floats(count, 9000 + seed++));
            yield return (weights, activations, count);
        }
    }

    /// <summary>The sum of |w*a| over the row, from ggml's dequantized values.</summary>
    private static double AbsoluteDot(byte[] weights, byte[] activations, int count)
    {
        var w = GgmlReference.Dequantize(TFormat.Type, weights, count);
        var a = GgmlQ8K.Dequantize(activations, count);
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            sum += Math.Abs((double)w[i] * a[i]);
        }

        return sum;
    }
}

public sealed class Q2_KTests : KQuantWeightTests<Q2_K, BlockQ2K>
{
    protected override int[] HalfOffsets => [80, 82];
}

public sealed class Q3_KTests : KQuantWeightTests<Q3_K, BlockQ3K>
{
    protected override int[] HalfOffsets => [108];
}

public sealed class Q4_KTests : KQuantWeightTests<Q4_K, BlockQ4K>
{
    protected override int[] HalfOffsets => [0, 2];
}

public sealed class Q5_KTests : KQuantWeightTests<Q5_K, BlockQ5K>
{
    protected override int[] HalfOffsets => [0, 2];
}

public sealed class Q6_KTests : KQuantWeightTests<Q6_K, BlockQ6K>
{
    protected override int[] HalfOffsets => [208];
}

public sealed class IQ4_XSTests : KQuantWeightTests<IQ4_XS, BlockIQ4XS>
{
    protected override int[] HalfOffsets => [0];
}

public sealed class Q8_KTests : KQuantFormatTests<Q8_K, BlockQ8K>
{
    protected override int[] HalfOffsets => [];

    protected override byte[] ReferenceQuantize(float[] values) => GgmlQ8K.QuantizeReference(values);

    protected override float[] ReferenceDequantize(byte[] blocks, int count) => GgmlQ8K.Dequantize(blocks, count);

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Quantize_equals_ggml_cpu_from_float_byte_for_byte(SimdPath path)
    {
        foreach (var row in KQuantRows.Random().Append(KQuantRows.Edges()).Append(KQuantRows.Extremes()))
        {
            var expected = GgmlReference.QuantizeCpu(GgmlType.Q8_K, row);
            var actual = new byte[expected.Length];
            Q8_K.Quantize(path, row, actual);
            Assert.Equal(expected, actual);
        }
    }
}
