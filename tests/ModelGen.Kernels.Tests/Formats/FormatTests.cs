using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Formats;
using ModelGen.LlamaCpp;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests.Formats;

public sealed class Q4_0Tests : WeightFormatTests<Q4_0, Q8_0>
{
    protected override int[] HalfFields => [0];
}

public sealed class Q4_1Tests : WeightFormatTests<Q4_1, Q8_1>
{
    protected override int[] HalfFields => [0, 2];
}

public sealed class Q5_0Tests : WeightFormatTests<Q5_0, Q8_0>
{
    protected override int[] HalfFields => [0];
}

public sealed class Q5_1Tests : WeightFormatTests<Q5_1, Q8_1>
{
    protected override int[] HalfFields => [0, 2];
}

public sealed class Q8_0Tests : WeightFormatTests<Q8_0, Q8_0>
{
    protected override int[] HalfFields => [0];
}

public sealed class IQ4_NLTests : WeightFormatTests<IQ4_NL, Q8_0>
{
    protected override int[] HalfFields => [0];
}

public sealed class Q8_1Tests : BlockFormatTests<Q8_1>
{
    protected override int[] HalfFields => [0, 2];

    /// <summary>ggml has no <c>dequantize_row_q8_1</c>: the same scale and quants as a Q8_0 block dequantize the same.</summary>
    protected override float[] ReferenceDequantize(byte[] blocks, int count)
    {
        var q8_0 = new byte[count / 32 * Q8_0.BlockBytes];
        for (int b = 0; b < count / 32; b++)
        {
            blocks.AsSpan(b * Q8_1.BlockBytes, 2).CopyTo(q8_0.AsSpan(b * Q8_0.BlockBytes));
            blocks.AsSpan(b * Q8_1.BlockBytes + 4, 32).CopyTo(q8_0.AsSpan(b * Q8_0.BlockBytes + 2));
        }

        return GgmlReference.Dequantize(GgmlType.Q8_0, q8_0, count);
    }
}

public sealed class F32Tests : WeightFormatTests<F32, F32>
{
    protected override int[] HalfFields => [];

    /// <summary>Random floats rather than random bits, which would be NaNs and infinities in a dot product.</summary>
    protected override byte[] RandomBlocks(int blocks, int seed) => MemoryMarshal.AsBytes(TestData.Floats(blocks, seed).AsSpan()).ToArray();

    /// <summary>ggml has no F32 to_float or from_float_ref (the CPU from_float is a memcpy): F32 stays as it is.</summary>
    protected override float[] ReferenceDequantize(byte[] blocks, int count) => MemoryMarshal.Cast<byte, float>(blocks).ToArray();

    protected override byte[] ReferenceQuantize(float[] values) => GgmlReference.QuantizeCpu(GgmlType.F32, values);
}

public sealed class F16Tests : WeightFormatTests<F16, F16>
{
    /// <summary>Every element is an FP16 field: random blocks are random finite halves.</summary>
    protected override int[] HalfFields => [0];
}

public sealed class BF16Tests : WeightFormatTests<BF16, BF16>
{
    protected override int[] HalfFields => [];

    /// <summary>Random finite BF16 values (random bits, NaNs included, are covered by the conversion tests).</summary>
    protected override byte[] RandomBlocks(int blocks, int seed) =>
        GgmlReference.QuantizeReference(GgmlType.BF16, TestData.Floats(blocks, seed));
}

public sealed class Q8_0ActivationTests : ActivationFormatTests<Q8_0>;

public sealed class Q8_1ActivationTests : ActivationFormatTests<Q8_1>;

public sealed class F32ActivationTests : ActivationFormatTests<F32>;

public sealed class F16ActivationTests : ActivationFormatTests<F16>;

public sealed class BF16ActivationTests : ActivationFormatTests<BF16>;

public sealed class BlockLayoutTests
{
    /// <summary>The block structs are ggml's C structs byte for byte (ggml-common.h), sizes from libggml's type traits.</summary>
    [Fact]
    public void Block_structs_have_ggml_sizes_and_field_offsets()
    {
        AssertSize<BlockQ4_0>(GgmlType.Q4_0);
        AssertSize<BlockQ4_1>(GgmlType.Q4_1);
        AssertSize<BlockQ5_0>(GgmlType.Q5_0);
        AssertSize<BlockQ5_1>(GgmlType.Q5_1);
        AssertSize<BlockQ8_0>(GgmlType.Q8_0);
        AssertSize<BlockQ8_1>(GgmlType.Q8_1);
        AssertSize<BlockIQ4_NL>(GgmlType.IQ4_NL);

        var q4_1 = default(BlockQ4_1);
        Assert.Equal(2, Offset(ref q4_1, ref q4_1.M));
        Assert.Equal(4, Offset(ref q4_1, ref q4_1.Qs));
        var q5_0 = default(BlockQ5_0);
        Assert.Equal(2, Offset(ref q5_0, ref q5_0.Qh));
        Assert.Equal(6, Offset(ref q5_0, ref q5_0.Qs));
        var q5_1 = default(BlockQ5_1);
        Assert.Equal(2, Offset(ref q5_1, ref q5_1.M));
        Assert.Equal(4, Offset(ref q5_1, ref q5_1.Qh));
        Assert.Equal(8, Offset(ref q5_1, ref q5_1.Qs));
        var q8_1 = default(BlockQ8_1);
        Assert.Equal(2, Offset(ref q8_1, ref q8_1.S));
        Assert.Equal(4, Offset(ref q8_1, ref q8_1.Qs));
    }

    private static unsafe void AssertSize<TBlock>(GgmlType type)
        where TBlock : unmanaged
    {
        LlamaCppLibrary.EnsureLoaded();
        Assert.Equal((int)GgmlNative.GetTypeTraits(type)->TypeSize, Unsafe.SizeOf<TBlock>());
    }

    private static long Offset<TBlock, TField>(ref TBlock block, ref TField field) =>
        Unsafe.ByteOffset(ref Unsafe.As<TBlock, byte>(ref block), ref Unsafe.As<TField, byte>(ref field));
}
