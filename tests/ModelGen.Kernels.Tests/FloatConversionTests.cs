using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.LlamaCpp;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

public sealed class FloatConversionTests
{
    /// <summary>Every 16-bit pattern: all FP16 and all BF16 values, NaNs and subnormals included.</summary>
    private static readonly ushort[] AllHalfBits = Enumerable.Range(0, 1 << 16).Select(i => (ushort)i).ToArray();

    /// <summary>
    /// Floats that exercise FP32 to FP16/BF16 rounding: for every half, its value, the exact midpoint to the next
    /// half (a tie) and the floats just either side of it; NaNs with payloads; values that overflow; float
    /// subnormals; random floats at many scales.
    /// </summary>
    private static readonly float[] RoundingEdges = BuildRoundingEdges();

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void HalfToSingle_equals_ggml_for_all_65536_halves(SimdPath path)
    {
        var expected = GgmlReference.Dequantize(GgmlType.F16, MemoryMarshal.AsBytes(AllHalfBits.AsSpan()), AllHalfBits.Length);
        var actual = new float[AllHalfBits.Length];
        FloatConversions.HalfToSingle(path, MemoryMarshal.Cast<ushort, Half>(AllHalfBits), actual);
        AssertBitsEqual(expected, actual);
    }

    [Fact]
    public void Scalar_HalfToSingle_and_its_table_equal_ggml_for_all_65536_halves()
    {
        var expected = GgmlReference.Dequantize(GgmlType.F16, MemoryMarshal.AsBytes(AllHalfBits.AsSpan()), AllHalfBits.Length);
        var actual = AllHalfBits.Select(h => FloatConversions.HalfToSingle(BitConverter.UInt16BitsToHalf(h))).ToArray();
        AssertBitsEqual(expected, actual);
        AssertBitsEqual(expected, AllHalfBits.Select(FloatConversions.HalfToSingleByTable).ToArray());
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void BFloat16ToSingle_equals_ggml_for_all_65536_values(SimdPath path)
    {
        var expected = GgmlReference.Dequantize(GgmlType.BF16, MemoryMarshal.AsBytes(AllHalfBits.AsSpan()), AllHalfBits.Length);
        var actual = new float[AllHalfBits.Length];
        FloatConversions.BFloat16ToSingle(path, AllHalfBits, actual);
        AssertBitsEqual(expected, actual);
        Assert.Equal(BitConverter.SingleToUInt32Bits(expected[12345]), BitConverter.SingleToUInt32Bits(FloatConversions.BFloat16ToSingle(12345)));
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void SingleToHalf_canonical_NaN_equals_ggml_reference(SimdPath path)
    {
        var expected = GgmlReference.QuantizeReference(GgmlType.F16, RoundingEdges);
        var actual = new Half[RoundingEdges.Length];
        FloatConversions.SingleToHalf(path, RoundingEdges, actual, HalfNaN.Canonical);
        AssertBytesEqual(expected, MemoryMarshal.AsBytes(actual.AsSpan()), bytesPerValue: 2);
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void SingleToHalf_keeping_NaN_payload_equals_ggml_cpu_backend(SimdPath path)
    {
        var expected = GgmlReference.QuantizeCpu(GgmlType.F16, RoundingEdges);
        var actual = new Half[RoundingEdges.Length];
        FloatConversions.SingleToHalf(path, RoundingEdges, actual, HalfNaN.KeepPayload);
        AssertBytesEqual(expected, MemoryMarshal.AsBytes(actual.AsSpan()), bytesPerValue: 2);
    }

    [Theory]
    [InlineData(HalfNaN.Canonical)]
    [InlineData(HalfNaN.KeepPayload)]
    public void Scalar_SingleToHalf_equals_ggml(HalfNaN nan)
    {
        var expected = nan == HalfNaN.Canonical
            ? GgmlReference.QuantizeReference(GgmlType.F16, RoundingEdges)
            : GgmlReference.QuantizeCpu(GgmlType.F16, RoundingEdges);
        var actual = RoundingEdges.Select(f => FloatConversions.SingleToHalf(f, nan)).ToArray();
        AssertBytesEqual(expected, MemoryMarshal.AsBytes(actual.AsSpan()), bytesPerValue: 2);
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void SingleToBFloat16_equals_ggml_reference_and_cpu_backend(SimdPath path)
    {
        var expected = GgmlReference.QuantizeReference(GgmlType.BF16, RoundingEdges);
        Assert.Equal(expected, GgmlReference.QuantizeCpu(GgmlType.BF16, RoundingEdges));
        var actual = new ushort[RoundingEdges.Length];
        FloatConversions.SingleToBFloat16(path, RoundingEdges, actual);
        AssertBytesEqual(expected, MemoryMarshal.AsBytes(actual.AsSpan()), bytesPerValue: 2);
        var scalar = RoundingEdges.Select(FloatConversions.SingleToBFloat16).ToArray();
        AssertBytesEqual(expected, MemoryMarshal.AsBytes(scalar.AsSpan()), bytesPerValue: 2);
    }

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Every_row_length_converts_every_element(SimdPath path)
    {
        // Lengths around each vector width exercise the whole-vector loop, the overlapping last vector and the
        // scalar loop for rows shorter than a vector.
        var values = TestData.Floats(80, seed: 7, scale: 100f);
        for (int n = 0; n <= values.Length; n++)
        {
            var source = values.AsSpan(0, n);
            var expected = GgmlReference.QuantizeReference(GgmlType.F16, source);
            var halves = new Half[n];
            FloatConversions.SingleToHalf(path, source, halves);
            AssertBytesEqual(expected, MemoryMarshal.AsBytes(halves.AsSpan()), bytesPerValue: 2);

            var back = new float[n];
            FloatConversions.HalfToSingle(path, halves, back);
            AssertBitsEqual(GgmlReference.Dequantize(GgmlType.F16, expected, n), back);
        }
    }

    [Fact]
    public void Mismatched_lengths_are_rejected() =>
        Assert.Throws<ArgumentException>(() => FloatConversions.HalfToSingle(SimdPath.Scalar, new Half[3], new float[4]));

    private static float[] BuildRoundingEdges()
    {
        var values = new List<float>();
        foreach (ushort bits in AllHalfBits)
        {
            float value = (float)BitConverter.UInt16BitsToHalf(bits);
            float next = (float)BitConverter.UInt16BitsToHalf((ushort)(bits + 1));
            values.Add(value);
            if (float.IsFinite(value) && float.IsFinite(next) && (bits & 0x7FFF) != 0x7FFF)
            {
                float tie = (float)(((double)value + next) / 2);
                values.Add(tie);
                values.Add(MathF.BitDecrement(tie));
                values.Add(MathF.BitIncrement(tie));
            }
        }

        // BF16 ties: a float whose low half is exactly 0x8000, for even and odd kept parts, and either side of it.
        var rng = new Random(3);
        for (int i = 0; i < 20000; i++)
        {
            uint high = (uint)rng.Next(1 << 16) << 16;
            values.Add(BitConverter.UInt32BitsToSingle(high | 0x8000));
            values.Add(BitConverter.UInt32BitsToSingle(high | 0x7FFF));
            values.Add(BitConverter.UInt32BitsToSingle(high | 0x8001));
            values.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(1L << 32)));
        }

        values.AddRange([
            float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon,
            float.MaxValue, -float.MaxValue, 65504f, 65519.996f, 65520f, -65520f, 1e-8f, -1e-8f, 2.98e-8f, 2.99e-8f,
            BitConverter.UInt32BitsToSingle(0x7F800001), BitConverter.UInt32BitsToSingle(0xFF800001), // signalling NaNs
            BitConverter.UInt32BitsToSingle(0x7FBFFFFF), BitConverter.UInt32BitsToSingle(0x7FC00001), // payload above and below the half's bits
            BitConverter.UInt32BitsToSingle(0x7FFFE000), BitConverter.UInt32BitsToSingle(0x7F802000),
            BitConverter.UInt32BitsToSingle(0x7FFF8000), BitConverter.UInt32BitsToSingle(0xFFFFFFFF),
            BitConverter.UInt32BitsToSingle(0x00400000), BitConverter.UInt32BitsToSingle(0x807FFFFF), // float subnormals
        ]);
        values.AddRange(TestData.Floats(4096, seed: 11, scale: 1e-6f));
        values.AddRange(TestData.Floats(4096, seed: 12, scale: 1e4f));
        return values.ToArray();
    }

    private static void AssertBitsEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            uint e = BitConverter.SingleToUInt32Bits(expected[i]), a = BitConverter.SingleToUInt32Bits(actual[i]);
            Assert.True(e == a, $"element {i}: expected 0x{e:X8}, got 0x{a:X8}");
        }
    }

    private static void AssertBytesEqual(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int bytesPerValue)
    {
        Assert.Equal(expected.Length, actual.Length);
        int mismatch = expected.CommonPrefixLength(actual);
        if (mismatch != expected.Length)
        {
            int start = mismatch / bytesPerValue * bytesPerValue;
            Assert.Fail($"value {mismatch / bytesPerValue}: expected {Convert.ToHexString(expected.Slice(start, bytesPerValue))}, " +
                $"got {Convert.ToHexString(actual.Slice(start, bytesPerValue))}");
        }
    }
}
