using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.LlamaCpp;

namespace ModelGen.Kernels.Tests.Formats;

/// <summary>Storage facts, dequantization and reference quantization of one format, each checked against libggml.</summary>
public abstract class BlockFormatTests<TFormat>
    where TFormat : IBlockFormat
{
    /// <summary>Offsets of the FP16 fields (scales, minimums) in a block, which random test blocks keep finite.</summary>
    protected abstract int[] HalfFields { get; }

    [Fact]
    public unsafe void Block_size_and_bytes_match_ggml()
    {
        var info = TFormat.Type.Info();
        Assert.Equal(info.BlockSize, TFormat.BlockSize);
        Assert.Equal(info.BytesPerBlock, TFormat.BlockBytes);
        LlamaCppLibrary.EnsureLoaded();
        Assert.Equal((nuint)TFormat.BlockBytes, GgmlNative.GetTypeTraits(TFormat.Type)->TypeSize);
    }

    [Fact]
    public void Dequantize_equals_ggml_on_random_blocks()
    {
        foreach (int seed in FormatTestData.Seeds)
        {
            foreach (int blocks in FormatTestData.BlockCounts)
            {
                CheckDequantize(RandomBlocks(blocks, seed * 1000 + blocks), blocks * TFormat.BlockSize);
            }
        }
    }

    /// <summary>Scales that are NaN, infinite, zero or subnormal: ggml just multiplies, and so must we.</summary>
    [Fact]
    public void Dequantize_equals_ggml_with_special_scales()
    {
        ushort[] specials = [0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE12, 0x0000, 0x8000, 0x0001, 0x83FF, 0x7BFF];
        int blocks = specials.Length;
        var bytes = FormatTestData.RandomBlocks(blocks, TFormat.BlockBytes, HalfFields, seed: 99);
        for (int b = 0; b < blocks; b++)
        {
            foreach (int field in HalfFields)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(b * TFormat.BlockBytes + field), specials[(b + field) % specials.Length]);
            }
        }

        CheckDequantize(bytes, blocks * TFormat.BlockSize);
    }

    [Fact]
    public void QuantizeReference_equals_ggml()
    {
        foreach (var row in FormatTestData.Rows(TFormat.BlockSize))
        {
            var expected = ReferenceQuantize(row);
            var actual = new byte[expected.Length];
            TFormat.QuantizeReference(row, actual);
            FormatTestData.AssertBytesEqual(expected, actual, TFormat.BlockBytes);
        }
    }

    [Fact]
    public void Mismatched_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => TFormat.Dequantize(new byte[TFormat.BlockBytes], new float[2 * TFormat.BlockSize]));
        Assert.Throws<ArgumentException>(() => TFormat.QuantizeReference(new float[TFormat.BlockSize], new byte[TFormat.BlockBytes + 1]));
    }

    /// <summary>Random blocks: random bytes with finite FP16 fields at <see cref="HalfFields"/>.</summary>
    protected virtual byte[] RandomBlocks(int blocks, int seed) => FormatTestData.RandomBlocks(blocks, TFormat.BlockBytes, HalfFields, seed);

    /// <summary>ggml's <c>dequantize_row</c> for the format.</summary>
    protected virtual float[] ReferenceDequantize(byte[] blocks, int count) => GgmlReference.Dequantize(TFormat.Type, blocks, count);

    /// <summary>ggml's <c>quantize_row_*_ref</c> for the format.</summary>
    protected virtual byte[] ReferenceQuantize(float[] values) => GgmlReference.QuantizeReference(TFormat.Type, values);

    private void CheckDequantize(byte[] bytes, int count)
    {
        var expected = ReferenceDequantize(bytes, count);
        var actual = new float[count];
        TFormat.Dequantize(bytes, actual);
        FormatTestData.AssertBitsEqual(expected, actual);
    }
}

/// <summary>Everything in <see cref="BlockFormatTests{TFormat}"/>, and the dot product with ggml's activation format.</summary>
public abstract class WeightFormatTests<TWeight, TActivation> : BlockFormatTests<TWeight>
    where TWeight : IWeightFormat<TActivation>
    where TActivation : IActivationFormat
{
    /// <summary>
    /// Relative tolerance of a dot product, against the sum of |w_i * a_i|. Both sides multiply the same integer
    /// (or float) products by the same per-block scales; they differ only in the order of float additions, whose
    /// rounding error is at most a few dozen ulps of that sum for rows of a few thousand elements.
    /// </summary>
    private const double DotTolerance = 1e-5;

    [Fact]
    public void Activation_format_is_ggml_vec_dot_type() => Assert.Equal(GgmlReference.VecDotType(TWeight.Type), TActivation.Type);

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Dot_matches_ggml_vec_dot_on_quantized_rows(SimdPath path)
    {
        foreach (var row in FormatTestData.Rows(TWeight.BlockSize))
        {
            var weights = new byte[TWeight.Type.Info().RowBytes(row.Length)];
            TWeight.QuantizeReference(row, weights);
            CheckDot(path, weights, ActivationsFor(row, seed: row.Length));
        }
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Dot_matches_ggml_vec_dot_on_random_blocks(SimdPath path)
    {
        foreach (int blocks in FormatTestData.BlockCounts)
        {
            var weights = RandomBlocks(blocks * 32 / TWeight.BlockSize, seed: blocks);
            CheckDot(path, weights, ActivationsFor(new float[blocks * 32], seed: blocks));
        }
    }

    [Fact]
    public void Dot_rejects_rows_of_other_lengths()
    {
        var weights = new byte[TWeight.BlockBytes * (32 / TWeight.BlockSize)];
        var activations = new byte[TActivation.BlockBytes * (32 / TActivation.BlockSize)];
        Assert.Equal(0f, TWeight.Dot(SimdPath.Scalar, weights, activations, 32));
        Assert.Throws<ArgumentException>(() => TWeight.Dot(SimdPath.Scalar, weights, activations, 64));
        Assert.Throws<ArgumentException>(() => TWeight.Dot(SimdPath.Scalar, weights, activations.AsSpan(1), 32));
    }

    /// <summary>Activations as ggml's CPU backend makes them from random floats.</summary>
    private static byte[] ActivationsFor(float[] row, int seed) =>
        GgmlReference.QuantizeCpu(TActivation.Type, ModelGen.TestSupport.TestData.Floats(row.Length, seed + 7));

    private static void CheckDot(SimdPath path, byte[] weights, byte[] activations)
    {
        int count = activations.Length / TActivation.BlockBytes * TActivation.BlockSize;
        float expected = GgmlReference.Dot(TWeight.Type, weights, activations, count);
        float actual = TWeight.Dot(path, weights, activations, count);

        var w = new float[count];
        var a = new float[count];
        TWeight.Dequantize(weights, w);
        TActivation.Dequantize(activations, a);
        double magnitude = 0;
        for (int i = 0; i < count; i++)
        {
            magnitude += Math.Abs((double)w[i] * a[i]);
        }

        Assert.True(Math.Abs(actual - expected) <= DotTolerance * magnitude,
            $"{count} elements: expected {expected}, got {actual} (difference {actual - expected}, sum of |w*a| {magnitude})");
    }
}

/// <summary>Activation quantization as ggml's CPU backend does it (<c>from_float</c>), on every SIMD path.</summary>
public abstract class ActivationFormatTests<TFormat>
    where TFormat : IActivationFormat
{
    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Quantize_equals_ggml_cpu_from_float(SimdPath path)
    {
        foreach (var row in FormatTestData.Rows(TFormat.BlockSize))
        {
            var expected = GgmlReference.QuantizeCpu(TFormat.Type, row);
            var actual = new byte[expected.Length];
            TFormat.Quantize(path, row, actual);
            FormatTestData.AssertBytesEqual(expected, actual, TFormat.BlockBytes);
        }
    }
}
