using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels.Formats;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// A 32-element weight format that ggml multiplies with int8 activations: each block is a half scale <c>d</c>
/// at offset 0, for offset formats a half minimum <c>m</c> at offset 2, and 32 small integer quants <c>q</c>,
/// standing for <c>d*q</c> (paired with Q8_0) or <c>d*q + m</c> (paired with Q8_1).
/// </summary>
/// <remarks>The format says how to read its quants; <see cref="Q8PairedKernels{TFormat}"/> does the rest.</remarks>
internal interface IQ8PairedFormat : IBlockFormat
{
    /// <summary>Whether blocks hold a minimum: <c>d*q + m</c> with unsigned <c>q</c>, dotted with Q8_1.</summary>
    static abstract bool HasMinimum { get; }

    /// <summary>Quant <paramref name="index"/> (0 to 31) of the block: the scalar reference for everything else.</summary>
    static abstract int Quant(ref byte block, int index);

    /// <summary>The block's 32 quants in element order (unsigned bytes when <see cref="HasMinimum"/>).</summary>
    static abstract Vector256<sbyte> Unpack(ref byte block);

    /// <summary>The block's 32 quants as two halves: elements 0 to 15 and 16 to 31.</summary>
    static abstract (Vector128<sbyte> First, Vector128<sbyte> Second) UnpackHalves(ref byte block);
}

/// <summary>
/// Dequantization and ggml's <c>vec_dot</c> for any <see cref="IQ8PairedFormat"/>: per block, the integer dot
/// product of the quants, scaled by <c>d_w * d_a</c>, accumulated in float lanes and reduced once at the end;
/// plus, for offset formats, <c>m * s</c> with Q8_1's <c>s = d_a * sum(q_a)</c>.
/// </summary>
internal static class Q8PairedKernels<TFormat>
    where TFormat : IQ8PairedFormat
{
    private const int BlockSize = 32;

    /// <summary>Q8_1 blocks are <c>{d, s, qs[32]}</c>, Q8_0 blocks <c>{d, qs[32]}</c>.</summary>
    private static int QuantsOffset => TFormat.HasMinimum ? 4 : 2;

    private static int ActivationBytes => QuantsOffset + BlockSize;

    /// <summary><c>dequantize_row_*</c>: <c>q*d</c>, or <c>q*d + m</c>, in ggml's order of operations.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<TFormat>(values.Length, blocks.Length, nameof(blocks));
        ref byte block = ref MemoryMarshal.GetReference(blocks);
        ref float value = ref MemoryMarshal.GetReference(values);
        for (int b = 0; b < count; b++)
        {
            float d = Half(ref block, 0);
            float m = TFormat.HasMinimum ? Half(ref block, 2) : 0;
            for (int j = 0; j < BlockSize; j++)
            {
                float scaled = TFormat.Quant(ref block, j) * d;
                Unsafe.Add(ref value, j) = TFormat.HasMinimum ? scaled + m : scaled;
            }

            block = ref Unsafe.Add(ref block, TFormat.BlockBytes);
            value = ref Unsafe.Add(ref value, BlockSize);
        }
    }

    /// <summary>ggml's <c>vec_dot</c> of <paramref name="count"/> elements: weights against Q8_0 or Q8_1 activations.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        int blocks = BlockRows.Count<TFormat>(count, weights.Length, nameof(weights));
        if (activations.Length != blocks * ActivationBytes)
        {
            throw new ArgumentException($"{activations.Length} bytes is not {blocks} activation blocks of {ActivationBytes} bytes", nameof(activations));
        }

        ref byte w = ref MemoryMarshal.GetReference(weights);
        ref byte a = ref MemoryMarshal.GetReference(activations);
        return path switch
        {
            SimdPath.Vector512 => Dot512(ref w, ref a, blocks),
            SimdPath.Vector256 => Dot256(ref w, ref a, blocks),
            SimdPath.Vector128 => Dot128(ref w, ref a, blocks),
            _ => DotScalar(ref w, ref a, blocks),
        };
    }

    private static float DotScalar(ref byte w, ref byte a, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            ref sbyte quants = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref a, QuantsOffset));
            int products = 0;
            for (int j = 0; j < BlockSize; j++)
            {
                products += TFormat.Quant(ref w, j) * Unsafe.Add(ref quants, j);
            }

            sum += products * (Half(ref w, 0) * Half(ref a, 0)) + Minimum(ref w, ref a);
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return sum;
    }

    private static float Dot128(ref byte w, ref byte a, int blocks)
    {
        var sums = Vector128<float>.Zero;
        float minimums = 0;
        for (int b = 0; b < blocks; b++)
        {
            var (first, second) = TFormat.UnpackHalves(ref w);
            ref byte quants = ref Unsafe.Add(ref a, QuantsOffset);
            var products = MultiplyAdd(first, Vector128.LoadUnsafe(ref quants).AsSByte())
                + MultiplyAdd(second, Vector128.LoadUnsafe(ref quants, 16).AsSByte());
            sums = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(products), Vector128.Create(Half(ref w, 0) * Half(ref a, 0)), sums);
            minimums += Minimum(ref w, ref a);
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return Vector128.Sum(sums) + minimums;
    }

    private static float Dot256(ref byte w, ref byte a, int blocks)
    {
        var sums = Vector256<float>.Zero;
        float minimums = 0;
        for (int b = 0; b < blocks; b++)
        {
            var products = MultiplyAdd(TFormat.Unpack(ref w), Vector256.LoadUnsafe(ref Unsafe.Add(ref a, QuantsOffset)).AsSByte());
            sums = Vector256.MultiplyAddEstimate(Vector256.ConvertToSingle(products), Vector256.Create(Half(ref w, 0) * Half(ref a, 0)), sums);
            minimums += Minimum(ref w, ref a);
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return Vector256.Sum(sums) + minimums;
    }

    /// <summary>Two blocks per vector; an odd last block takes the 256-bit step.</summary>
    private static float Dot512(ref byte w, ref byte a, int blocks)
    {
        var sums = Vector512<float>.Zero;
        float minimums = 0;
        int b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            ref byte w1 = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            ref byte a1 = ref Unsafe.Add(ref a, ActivationBytes);
            var weights = Vector512.Create(TFormat.Unpack(ref w), TFormat.Unpack(ref w1));
            var quants = Vector512.Create(
                Vector256.LoadUnsafe(ref Unsafe.Add(ref a, QuantsOffset)),
                Vector256.LoadUnsafe(ref Unsafe.Add(ref a1, QuantsOffset))).AsSByte();
            var scales = Vector512.Create(Vector256.Create(Half(ref w, 0) * Half(ref a, 0)), Vector256.Create(Half(ref w1, 0) * Half(ref a1, 0)));
            sums = Vector512.MultiplyAddEstimate(Vector512.ConvertToSingle(MultiplyAdd(weights, quants)), scales, sums);
            minimums += Minimum(ref w, ref a) + Minimum(ref w1, ref a1);
            w = ref Unsafe.Add(ref w1, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a1, ActivationBytes);
        }

        return Vector512.Sum(sums) + minimums + (b < blocks ? Dot256(ref w, ref a, 1) : 0);
    }

    /// <summary>Products of quants, four adjacent ones summed per lane: unsigned weights need no sign trick.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MultiplyAdd(Vector128<sbyte> weights, Vector128<sbyte> activations) =>
        TFormat.HasMinimum ? ByteDot.MultiplyAddU8S8(weights.AsByte(), activations) : ByteDot.MultiplyAddS8S8(weights, activations);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MultiplyAdd(Vector256<sbyte> weights, Vector256<sbyte> activations) =>
        TFormat.HasMinimum ? ByteDot.MultiplyAddU8S8(weights.AsByte(), activations) : ByteDot.MultiplyAddS8S8(weights, activations);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> MultiplyAdd(Vector512<sbyte> weights, Vector512<sbyte> activations) =>
        TFormat.HasMinimum ? ByteDot.MultiplyAddU8S8(weights.AsByte(), activations) : ByteDot.MultiplyAddS8S8(weights, activations);

    /// <summary>The minimum's share of a block's dot product, <c>m * sum(d_a * q_a)</c>; nothing without a minimum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Minimum(ref byte w, ref byte a) => TFormat.HasMinimum ? Half(ref w, 2) * Half(ref a, 2) : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(ref byte block, int offset) =>
        FloatConversions.HalfToSingle(Unsafe.ReadUnaligned<Half>(ref Unsafe.Add(ref block, offset)));
}
