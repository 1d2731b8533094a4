using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelGen.Kernels.Formats;

namespace ModelGen.Kernels.Simd;

/// <summary>How the quants of an <see cref="IQ8PairedFormat"/> block stand for values.</summary>
internal enum QuantEncoding
{
    /// <summary>Signed quants: <c>d * q</c> (Q8_0; IQ4_NL, whose quants are its grid values).</summary>
    Signed,

    /// <summary>Unsigned quants around a zero point: <c>d * (q - z)</c> (Q4_0, Q5_0).</summary>
    Centered,

    /// <summary>Unsigned quants above a minimum: <c>d * q + m</c> (Q4_1, Q5_1), so dotted with Q8_1.</summary>
    Offset,
}

/// <summary>
/// A 32-element weight format that ggml multiplies with int8 activations: each block is a half scale <c>d</c>
/// at offset 0, for <see cref="QuantEncoding.Offset"/> formats a half minimum <c>m</c> at offset 2, and 32 small
/// integer quants.
/// </summary>
/// <remarks>The format says how to read its quants; <see cref="Q8PairedKernels{TFormat}"/> does the rest.</remarks>
internal interface IQ8PairedFormat : IBlockFormat
{
    static abstract QuantEncoding Encoding { get; }

    /// <summary>The zero point of a <see cref="QuantEncoding.Centered"/> format.</summary>
    static virtual byte ZeroPoint => 0;

    /// <summary>Quant <paramref name="index"/> (0 to 31) of the block, as stored: the scalar reference for everything else.</summary>
    static abstract int Quant(ref byte block, int index);

    /// <summary>The block's 32 quants in element order (bytes to be read as unsigned unless <see cref="QuantEncoding.Signed"/>).</summary>
    static abstract Vector256<sbyte> Unpack(ref byte block);

    /// <summary>The block's 32 quants as two halves: elements 0 to 15 and 16 to 31.</summary>
    static abstract (Vector128<sbyte> First, Vector128<sbyte> Second) UnpackHalves(ref byte block);

    /// <summary>The quants of the block at <paramref name="block"/> and of the one after it, as <see cref="Unpack"/> gives them.</summary>
    static abstract Vector512<sbyte> UnpackPair(ref byte block);
}

/// <summary>
/// Dequantization and ggml's <c>vec_dot</c> for any <see cref="IQ8PairedFormat"/>: per block, the integer dot
/// product of the quants, scaled by <c>d_w * d_a</c>, accumulated in float lanes and reduced once at the end;
/// plus, for offset formats, <c>m * s</c> with Q8_1's <c>s = d_a * sum(q_a)</c>.
/// </summary>
/// <remarks>
/// .NET has no F16C, so converting two FP16 scales per block one at a time would cost more than the integer
/// work. The vector paths therefore take blocks eight at a time and convert their sixteen scales in one go.
/// </remarks>
internal static class Q8PairedKernels<TFormat>
    where TFormat : IQ8PairedFormat
{
    private const int BlockSize = 32;

    /// <summary>Blocks whose scales are converted together.</summary>
    private const int Group = 8;

    private static bool HasMinimum
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TFormat.Encoding == QuantEncoding.Offset;
    }

    /// <summary>Q8_1 blocks are <c>{d, s, qs[32]}</c>, Q8_0 blocks <c>{d, qs[32]}</c>.</summary>
    private static int QuantsOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => HasMinimum ? 4 : 2;
    }

    private static int ActivationBytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => QuantsOffset + BlockSize;
    }

    /// <summary><c>dequantize_row_*</c>: <c>(q - z)*d</c>, or <c>q*d + m</c>, in ggml's order of operations.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<TFormat>(values.Length, blocks.Length, nameof(blocks));
        ref byte block = ref MemoryMarshal.GetReference(blocks);
        ref float value = ref MemoryMarshal.GetReference(values);
        for (int b = 0; b < count; b++)
        {
            float d = Half(ref block, 0);
            float m = HasMinimum ? Half(ref block, 2) : 0;
            for (int j = 0; j < BlockSize; j++)
            {
                float scaled = (TFormat.Quant(ref block, j) - TFormat.ZeroPoint) * d;
                Unsafe.Add(ref value, j) = HasMinimum ? scaled + m : scaled;
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

    // Kept out of line: inlined into a caller, these block loops exhaust the JIT's inlining budget and
    // their vector helpers stay calls (2-7x slower, measured); compiled as their own roots they are fully inlined.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float DotScalar(ref byte w, ref byte a, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            ref sbyte quants = ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref a, QuantsOffset));
            int products = 0;
            for (int j = 0; j < BlockSize; j++)
            {
                products += (TFormat.Quant(ref w, j) - TFormat.ZeroPoint) * Unsafe.Add(ref quants, j);
            }

            sum += products * (Half(ref w, 0) * Half(ref a, 0)) + (HasMinimum ? Half(ref w, 2) * Half(ref a, 2) : 0);
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot128(ref byte w, ref byte a, int blocks)
    {
        var sums = Vector128<float>.Zero;
        var minimums = Vector128<float>.Zero;
        int b = 0;
        for (; b + Group <= blocks; b += Group)
        {
            var (scales, scales4) = HalfProducts128(ref w, ref a, 0);
            if (HasMinimum)
            {
                var (m, m4) = HalfProducts128(ref w, ref a, 2);
                minimums += m + m4;
            }

            // Unrolled, so that each block's scale lane is a constant shuffle.
            sums = Step128(ref w, ref a, 0, scales, 0, sums);
            sums = Step128(ref w, ref a, 1, scales, 1, sums);
            sums = Step128(ref w, ref a, 2, scales, 2, sums);
            sums = Step128(ref w, ref a, 3, scales, 3, sums);
            sums = Step128(ref w, ref a, 4, scales4, 0, sums);
            sums = Step128(ref w, ref a, 5, scales4, 1, sums);
            sums = Step128(ref w, ref a, 6, scales4, 2, sums);
            sums = Step128(ref w, ref a, 7, scales4, 3, sums);

            w = ref Unsafe.Add(ref w, Group * TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, Group * ActivationBytes);
        }

        return Vector128.Sum(sums) + Vector128.Sum(minimums) + UngroupedDot128(ref w, ref a, blocks - b);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot256(ref byte w, ref byte a, int blocks)
    {
        var sums = Vector256<float>.Zero;
        var oddSums = Vector256<float>.Zero;
        var minimums = Vector256<float>.Zero;
        int b = 0;
        for (; b + Group <= blocks; b += Group)
        {
            var scales = HalfProducts256(ref w, ref a, 0);
            if (HasMinimum)
            {
                minimums += HalfProducts256(ref w, ref a, 2);
            }

            // Unrolled, so that each block's scale lane is a constant shuffle; two accumulators halve the FMA latency chain.
            sums = Step256(ref w, ref a, 0, scales, sums);
            oddSums = Step256(ref w, ref a, 1, scales, oddSums);
            sums = Step256(ref w, ref a, 2, scales, sums);
            oddSums = Step256(ref w, ref a, 3, scales, oddSums);
            sums = Step256(ref w, ref a, 4, scales, sums);
            oddSums = Step256(ref w, ref a, 5, scales, oddSums);
            sums = Step256(ref w, ref a, 6, scales, sums);
            oddSums = Step256(ref w, ref a, 7, scales, oddSums);

            w = ref Unsafe.Add(ref w, Group * TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, Group * ActivationBytes);
        }

        return Vector256.Sum(sums + oddSums) + Vector256.Sum(minimums) + UngroupedDot256(ref w, ref a, blocks - b);
    }

    /// <summary>Two blocks per vector; the last blocks, fewer than a group, take the 256-bit path.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot512(ref byte w, ref byte a, int blocks)
    {
        var scaleFields = FieldGather512.Create(0);
        var minimumFields = FieldGather512.Create(2);
        var sums = Vector512<float>.Zero;
        var minimums = Vector256<float>.Zero;
        int b = 0;
        for (; b + Group <= blocks; b += Group)
        {
            var scales = HalfProducts512(FieldGather512.Gather(ref w, ref a, scaleFields)).ToVector512Unsafe();
            if (HasMinimum)
            {
                minimums += HalfProducts512(FieldGather512.Gather(ref w, ref a, minimumFields));
            }

            // Unrolled, so that each pair's scale lanes are a constant shuffle.
            sums = Step512(ref w, ref a, 0, scales, sums);
            sums = Step512(ref w, ref a, 1, scales, sums);
            sums = Step512(ref w, ref a, 2, scales, sums);
            sums = Step512(ref w, ref a, 3, scales, sums);
            w = ref Unsafe.Add(ref w, Group * TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, Group * ActivationBytes);
        }

        return Vector512.Sum(sums) + Vector256.Sum(minimums) + (b < blocks ? Dot256(ref w, ref a, blocks - b) : 0);
    }

    /// <summary>Block <paramref name="index"/> of a group: its products, in four float lanes, scaled by lane <paramref name="lane"/> of <paramref name="scales"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Step128(ref byte w, ref byte a, int index, Vector128<float> scales, int lane, Vector128<float> sums)
    {
        ref byte block = ref Unsafe.Add(ref w, index * TFormat.BlockBytes);
        ref byte quants = ref Unsafe.Add(ref a, index * ActivationBytes + QuantsOffset);
        var (first, second) = TFormat.UnpackHalves(ref block);
        var products = MultiplyAdd(first, Vector128.LoadUnsafe(ref quants).AsSByte()) + MultiplyAdd(second, Vector128.LoadUnsafe(ref quants, 16).AsSByte());
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(products), Vector128.Shuffle(scales, Vector128.Create(lane)), sums);
    }

    /// <summary>Block <paramref name="index"/> of a group, in eight float lanes, scaled by lane <paramref name="index"/> of <paramref name="scales"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step256(ref byte w, ref byte a, int index, Vector256<float> scales, Vector256<float> sums)
    {
        var scale = Vector256.Shuffle(scales, Vector256.Create(index));
        var weights = TFormat.Unpack(ref Unsafe.Add(ref w, index * TFormat.BlockBytes));
        var quants = Vector256.LoadUnsafe(ref Unsafe.Add(ref a, index * ActivationBytes + QuantsOffset)).AsSByte();
        return Vector256.MultiplyAddEstimate(Vector256.ConvertToSingle(MultiplyAdd(weights, quants)), scale, sums);
    }

    /// <summary>Blocks <c>2 * pair</c> and <c>2 * pair + 1</c> of a group, eight float lanes each, scaled by their lanes of <paramref name="scales"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step512(ref byte w, ref byte a, int pair, Vector512<float> scales, Vector512<float> sums)
    {
        int first = 2 * pair, second = 2 * pair + 1;
        var pairScales = Vector512.Shuffle(scales, Vector512.Create(
            first, first, first, first, first, first, first, first, second, second, second, second, second, second, second, second));
        ref byte quants = ref Unsafe.Add(ref a, first * ActivationBytes + QuantsOffset);
        var activations = Vector256.LoadUnsafe(ref quants).ToVector512Unsafe().WithUpper(Vector256.LoadUnsafe(ref quants, (nuint)ActivationBytes)).AsSByte();
        var weights = TFormat.UnpackPair(ref Unsafe.Add(ref w, first * TFormat.BlockBytes));
        return Vector512.MultiplyAddEstimate(Vector512.ConvertToSingle(MultiplyAdd(weights, activations)), pairScales, sums);
    }

    /// <summary>Blocks after the last whole group, each converting its own scales.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float UngroupedDot128(ref byte w, ref byte a, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            var scale = Vector128.Create(Half(ref w, 0) * Half(ref a, 0));
            sum += Vector128.Sum(Step128(ref w, ref a, 0, scale, 0, Vector128<float>.Zero));
            sum += HasMinimum ? Half(ref w, 2) * Half(ref a, 2) : 0;
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return sum;
    }

    /// <inheritdoc cref="UngroupedDot128"/>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float UngroupedDot256(ref byte w, ref byte a, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            var scale = Vector256.Create(Half(ref w, 0) * Half(ref a, 0));
            sum += Vector256.Sum(Step256(ref w, ref a, 0, scale, Vector256<float>.Zero));
            sum += HasMinimum ? Half(ref w, 2) * Half(ref a, 2) : 0;
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return sum;
    }

    /// <summary>
    /// Products of a group's weight and activation FP16 fields, gathered as <c>[w0..w7, a0..a7]</c>:
    /// <c>d_w * d_a</c>, or <c>m * s</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfProducts512(Vector256<ushort> halves)
    {
        var values = FloatConversions.HalfToSingle(Vector512.WidenLower(halves.ToVector512Unsafe()));
        return values.GetLower() * values.GetUpper();
    }

    /// <summary>
    /// Products of the FP16 at <paramref name="offset"/> in a group's weight blocks and in its activation blocks:
    /// <c>d_w * d_a</c> at offset 0, <c>m * s</c> at offset 2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfProducts256(ref byte w, ref byte a, int offset) =>
        FloatConversions.HalfToSingle(Vector256.WidenLower(GatherHalves(ref w, TFormat.BlockBytes, offset).ToVector256Unsafe()))
        * FloatConversions.HalfToSingle(Vector256.WidenLower(GatherHalves(ref a, ActivationBytes, offset).ToVector256Unsafe()));

    /// <inheritdoc cref="HalfProducts256"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> First, Vector128<float> Second) HalfProducts128(ref byte w, ref byte a, int offset)
    {
        var (w0, w4) = Vector128.Widen(GatherHalves(ref w, TFormat.BlockBytes, offset));
        var (a0, a4) = Vector128.Widen(GatherHalves(ref a, ActivationBytes, offset));
        return (FloatConversions.HalfToSingle(w0) * FloatConversions.HalfToSingle(a0), FloatConversions.HalfToSingle(w4) * FloatConversions.HalfToSingle(a4));
    }

    /// <summary>
    /// Gathers the 16-bit fields at one offset of a group's eight weight blocks and eight activation blocks into
    /// <c>[w0..w7, a0..a7]</c>. With AVX-512 VBMI, four two-register byte permutes (<c>vpermi2b</c>), each over a
    /// 128-byte window inside the group, replace sixteen inserts.
    /// </summary>
    private static class FieldGather512
    {
        /// <summary>The offset of the fields and, with VBMI, the byte indices of the four permutes.</summary>
        public readonly record struct Fields(int Offset, Vector512<byte> WeightsLow, Vector512<byte> WeightsHigh, Vector512<byte> ActivationsLow, Vector512<byte> ActivationsHigh);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Fields Create(int offset) => Avx512Vbmi.IsSupported
            ? new Fields(
                offset,
                Indices(TFormat.BlockBytes, offset, window: 0),
                Indices(TFormat.BlockBytes, offset + 4 * TFormat.BlockBytes, window: HighWindow(TFormat.BlockBytes)),
                Indices(ActivationBytes, offset, window: 0),
                Indices(ActivationBytes, offset + 4 * ActivationBytes, window: HighWindow(ActivationBytes)))
            : new Fields(offset, default, default, default, default);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<ushort> Gather(ref byte w, ref byte a, in Fields fields)
        {
            if (!Avx512Vbmi.IsSupported)
            {
                return Vector256.Create(GatherHalves(ref w, TFormat.BlockBytes, fields.Offset), GatherHalves(ref a, ActivationBytes, fields.Offset));
            }

            nuint weightsHigh = (nuint)HighWindow(TFormat.BlockBytes), activationsHigh = (nuint)HighWindow(ActivationBytes);
            var w0 = Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref w), fields.WeightsLow, Vector512.LoadUnsafe(ref w, 64));
            var w4 = Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref w, weightsHigh), fields.WeightsHigh, Vector512.LoadUnsafe(ref w, weightsHigh + 64));
            var a0 = Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref a), fields.ActivationsLow, Vector512.LoadUnsafe(ref a, 64));
            var a4 = Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref a, activationsHigh), fields.ActivationsHigh, Vector512.LoadUnsafe(ref a, activationsHigh + 64));

            // Each permute leaves its four fields in the low eight bytes.
            var weights = Sse2.UnpackLow(w0.GetLower().GetLower().AsUInt64(), w4.GetLower().GetLower().AsUInt64());
            var activations = Sse2.UnpackLow(a0.GetLower().GetLower().AsUInt64(), a4.GetLower().GetLower().AsUInt64());
            return Vector256.Create(weights, activations).AsUInt16();
        }

        /// <summary>
        /// Fields 0 to 3 lie in a window at the group's start; 4 to 7 in the group's last 128 bytes, or from block 4
        /// on if that is earlier. Both windows stay inside the group, since blocks are at least 16 bytes.
        /// </summary>
        private static int HighWindow(int stride) => Math.Min(4 * stride, 8 * stride - 128);

        /// <summary>
        /// Byte indices into a 128-byte <paramref name="window"/> that put the 16-bit fields at <paramref name="first"/>,
        /// <paramref name="first"/> + <paramref name="stride"/>, ... into 16-bit lanes 0, 1, ... (only lanes 0 to 3 are used).
        /// </summary>
        private static Vector512<byte> Indices(int stride, int first, int window)
        {
            var start = Vector512<ushort>.Indices * (ushort)stride + Vector512.Create((ushort)(first - window));
            return ((start & Vector512.Create((ushort)0xFF)) | ((start + Vector512<ushort>.One) << 8)).AsByte();
        }
    }

    /// <summary>The 16-bit fields at <paramref name="offset"/> of eight blocks <paramref name="stride"/> bytes apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> GatherHalves(ref byte blocks, int stride, int offset)
    {
        ref byte field = ref Unsafe.Add(ref blocks, offset);
        return Vector128.Create(
            Unsafe.ReadUnaligned<ushort>(ref field),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, stride)),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, 2 * stride)),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, 3 * stride)),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, 4 * stride)),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, 5 * stride)),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, 6 * stride)),
            Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref field, 7 * stride)));
    }

    /// <summary>Products of quants, four adjacent ones summed per lane, as the encoding allows most cheaply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MultiplyAdd(Vector128<sbyte> weights, Vector128<sbyte> activations) => TFormat.Encoding switch
    {
        QuantEncoding.Signed => ByteDot.MultiplyAddS8S8(weights, activations),
        QuantEncoding.Centered => ByteDot.MultiplyAddCenteredU8S8(weights.AsByte(), TFormat.ZeroPoint, activations),
        _ => ByteDot.MultiplyAddU8S8(weights.AsByte(), activations),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MultiplyAdd(Vector256<sbyte> weights, Vector256<sbyte> activations) => TFormat.Encoding switch
    {
        QuantEncoding.Signed => ByteDot.MultiplyAddS8S8(weights, activations),
        QuantEncoding.Centered => ByteDot.MultiplyAddCenteredU8S8(weights.AsByte(), TFormat.ZeroPoint, activations),
        _ => ByteDot.MultiplyAddU8S8(weights.AsByte(), activations),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> MultiplyAdd(Vector512<sbyte> weights, Vector512<sbyte> activations) => TFormat.Encoding switch
    {
        QuantEncoding.Signed => ByteDot.MultiplyAddS8S8(weights, activations),
        QuantEncoding.Centered => ByteDot.MultiplyAddCenteredU8S8(weights.AsByte(), TFormat.ZeroPoint, activations),
        _ => ByteDot.MultiplyAddU8S8(weights.AsByte(), activations),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(ref byte block, int offset) =>
        FloatConversions.HalfToSingle(Unsafe.ReadUnaligned<Half>(ref Unsafe.Add(ref block, offset)));
}
