using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// A K-quant of eight 32-weight sub-blocks, weight = <c>d * scale * q - dmin * min</c> with 6-bit scales and mins
/// (Q4_K, Q5_K). Blocks start with ggml's <c>{ half d; half dmin; uint8 scales[12]; }</c>; the format says how to
/// read its quants, <see cref="ScaleMinKernels{TFormat}"/> does the rest.
/// </summary>
internal unsafe interface IScaleMinFormat : IWeightFormat<Q8_K>
{
    /// <summary>Quant <paramref name="index"/> (0 to 255) of the block: the scalar reference.</summary>
    static abstract int Quant(ref byte block, int index);

    /// <summary>
    /// The 64 quants of sub-blocks <c>2 * pair</c> and <c>2 * pair + 1</c>, in element order. The block must not
    /// move (the 512-bit path broadcasts straight from memory).
    /// </summary>
    static abstract Vector512<byte> Quants512(byte* block, int pair);

    /// <summary>The 32 quants of sub-block <c>2 * pair</c>, and those of sub-block <c>2 * pair + 1</c>.</summary>
    static abstract (Vector256<byte> First, Vector256<byte> Second) Quants256(ref byte block, int pair);

    /// <summary>Quants <paramref name="offset"/> to <paramref name="offset"/> + 15 of sub-blocks <c>2 * pair</c> and <c>2 * pair + 1</c>.</summary>
    static abstract (Vector128<byte> First, Vector128<byte> Second) Quants128(ref byte block, int pair, int offset);
}

/// <summary>Dequantization and the dot product with Q8_K of an <see cref="IScaleMinFormat"/>.</summary>
/// <remarks>
/// The dot products weigh each 32 products of quants by the sub-block scale with <c>pmaddubsw</c>/<c>pmaddwd</c>
/// (<see cref="ScaledByteDot"/>), so the super-block's sum stays in int32 lanes (at most 8 * 2*31*128 * 63 in
/// magnitude) until one float multiply-add by <c>d</c>; the mins meet Q8_K's sums of 16 quants. Scales are
/// unpacked and converted in integer registers, which the vector work leaves idle.
/// </remarks>
internal static unsafe class ScaleMinKernels<TFormat>
    where TFormat : IScaleMinFormat
{
    private const int ScalesOffset = 4;

    /// <summary><c>dequantize_row_q4_K</c> / <c>dequantize_row_q5_K</c>: <c>d*scale * q - dmin*min</c>, in ggml's order.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<TFormat>(values.Length, blocks.Length, nameof(blocks));
        ref byte block = ref MemoryMarshal.GetReference(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, TFormat.BlockBytes))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(D(ref block));
            float min = FloatConversions.HalfToSingle(DMin(ref block));
            KQuants.UnpackScalesAndMins(ref Unsafe.Add(ref block, ScalesOffset), out ulong scales, out ulong mins);
            for (int j = 0; j < 8; j++)
            {
                float scale = d * (byte)(scales >> (8 * j));
                float offset = min * (byte)(mins >> (8 * j));
                for (int l = 32 * j; l < 32 * j + 32; l++)
                {
                    y[l] = scale * TFormat.Quant(ref block, l) - offset;
                }
            }
        }
    }

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        int blocks = BlockRows.Count<TFormat>(count, weights.Length, nameof(weights));
        BlockRows.Count<Q8_K>(count, activations.Length, nameof(activations));
        ref byte x = ref MemoryMarshal.GetReference(weights);
        ref BlockQ8K y = ref KQuants.First<BlockQ8K>(activations);
        if (path == SimdPath.Vector512)
        {
            fixed (byte* pinned = weights)
            {
                return KQuant512<TFormat, Kernel512>.Dot(pinned, ref y, blocks);
            }
        }

        return path switch
        {
            SimdPath.Vector256 => Dot256(ref x, ref y, blocks),
            SimdPath.Vector128 => Dot128(ref x, ref y, blocks),
            _ => DotScalar(ref x, ref y, blocks),
        };
    }

    private static ref Half D(ref byte block) => ref Unsafe.As<byte, Half>(ref block);

    private static ref Half DMin(ref byte block) => ref Unsafe.As<byte, Half>(ref Unsafe.Add(ref block, 2));

    // Kept out of line: inlined into a caller, these block loops exhaust the JIT's inlining budget and
    // their vector helpers stay calls (2-7x slower, measured); compiled as their own roots they are fully inlined.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float DotScalar(ref byte x, ref BlockQ8K y, int blocks)
    {
        float sum = 0;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, TFormat.BlockBytes), y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref Unsafe.Add(ref x, ScalesOffset), out ulong scales, out ulong mins);
            ReadOnlySpan<sbyte> q8 = y.Qs;
            int dots = 0;
            for (int j = 0; j < 8; j++)
            {
                int dot = 0;
                for (int l = 32 * j; l < 32 * j + 32; l++)
                {
                    dot += TFormat.Quant(ref x, l) * q8[l];
                }

                dots += (byte)(scales >> (8 * j)) * dot;
            }

            sum += y.D * KQuants.HalfToSingle(D(ref x)) * dots - y.D * KQuants.HalfToSingle(DMin(ref x)) * MinsDot(mins, ref y);
        }

        return sum;
    }

    /// <summary><see cref="IWeightFormat{TActivation}.TryDotTile"/>: on the 512-bit path, see <see cref="KQuant512{TFormat, TKernel}"/>.</summary>
    public static bool TryDotTile(SimdPath path, in WeightTile tile) => KQuant512<TFormat, Kernel512>.TryDotTile(path, tile);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot256(ref byte x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector256<float>.Zero;
        var accMins = Vector256<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, TFormat.BlockBytes), y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref Unsafe.Add(ref x, ScalesOffset), out ulong packedScales, out ulong mins);
            var scales128 = Vector128.WidenLower(Vector128.CreateScalar(packedScales).AsByte()).AsInt16();
            var scales = Vector256.Create(scales128, scales128);
            ref sbyte q8 = ref y.Qs[0];
            var sums = Pair(ref x, ref q8, scales, 0) + Pair(ref x, ref q8, scales, 1) + Pair(ref x, ref q8, scales, 2) + Pair(ref x, ref q8, scales, 3);

            acc = Vector256.FusedMultiplyAdd(Vector256.Create(y.D * KQuants.HalfToSingle(D(ref x))), Vector256.ConvertToSingle(sums), acc);
            accMins = Vector256.FusedMultiplyAdd(
                Vector256.Create(-y.D * KQuants.HalfToSingle(DMin(ref x))), Vector256.ConvertToSingle(MinsDot256(mins, ref y)), accMins);
        }

        return Vector256.Sum(acc) + Vector256.Sum(accMins);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot128(ref byte x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector128<float>.Zero;
        var accMins = Vector128<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, TFormat.BlockBytes), y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref Unsafe.Add(ref x, ScalesOffset), out ulong packedScales, out ulong mins);
            var scales = Vector128.WidenLower(Vector128.CreateScalar(packedScales).AsByte()).AsInt16();
            ref sbyte q8 = ref y.Qs[0];
            var sums = Quarter(ref x, ref q8, scales, 0, 0) + Quarter(ref x, ref q8, scales, 0, 16) + Quarter(ref x, ref q8, scales, 1, 0) + Quarter(ref x, ref q8, scales, 1, 16)
                + Quarter(ref x, ref q8, scales, 2, 0) + Quarter(ref x, ref q8, scales, 2, 16) + Quarter(ref x, ref q8, scales, 3, 0) + Quarter(ref x, ref q8, scales, 3, 16);

            acc = Vector128.FusedMultiplyAdd(Vector128.Create(y.D * KQuants.HalfToSingle(D(ref x))), Vector128.ConvertToSingle(sums), acc);
            accMins = Vector128.FusedMultiplyAdd(
                Vector128.Create(-y.D * KQuants.HalfToSingle(DMin(ref x))), Vector128.ConvertToSingle(MinsDot128(mins, ref y)), accMins);
        }

        return Vector128.Sum(acc) + Vector128.Sum(accMins);
    }

    // The 256 and 128-bit steps, called with constant indices (written out, not looped).

    /// <summary>Sub-blocks 2p and 2p + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Pair(ref byte x, ref sbyte q8, Vector256<short> scales, int pair)
    {
        var (first, second) = TFormat.Quants256(ref x, pair);
        return ScaledByteDot.MultiplyAddU8S8(first, Vector256.LoadUnsafe(ref q8, (nuint)(64 * pair)), SubBlockScales.Broadcast(scales, 2 * pair))
            + ScaledByteDot.MultiplyAddU8S8(second, Vector256.LoadUnsafe(ref q8, (nuint)(64 * pair + 32)), SubBlockScales.Broadcast(scales, 2 * pair + 1));
    }

    /// <summary>Weights <paramref name="offset"/> to <paramref name="offset"/> + 15 of sub-blocks 2p and 2p + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Quarter(ref byte x, ref sbyte q8, Vector128<short> scales, int pair, int offset)
    {
        var (first, second) = TFormat.Quants128(ref x, pair, offset);
        return ScaledByteDot.MultiplyAddU8S8(first, Vector128.LoadUnsafe(ref q8, (nuint)(64 * pair + offset)), SubBlockScales.Broadcast(scales, 2 * pair))
            + ScaledByteDot.MultiplyAddU8S8(second, Vector128.LoadUnsafe(ref q8, (nuint)(64 * pair + 32 + offset)), SubBlockScales.Broadcast(scales, 2 * pair + 1));
    }

    /// <summary>
    /// The integer part of the mins term of the dot product:
    /// <c>sum over sub-blocks j of mins[j] * (bsums[2j] + bsums[2j+1])</c>, Q8_K's sums of each 16 quants sparing
    /// the kernel a pass over the quants.
    /// </summary>
    private static int MinsDot(ulong mins, ref BlockQ8K y)
    {
        int sum = 0;
        for (int j = 0; j < 8; j++)
        {
            sum += (byte)(mins >> (8 * j)) * (y.BSums[2 * j] + y.BSums[2 * j + 1]);
        }

        return sum;
    }

    /// <summary><see cref="MinsDot(ulong, ref BlockQ8K)"/> in eight lanes, whose sum is the dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> MinsDot256(ulong mins, ref BlockQ8K y) => WordDot.MultiplyAdd(Vector256.LoadUnsafe(ref y.BSums[0]), MinPairs256(mins));

    /// <summary><see cref="MinPairs"/> in int16 lanes, to meet Q8_K's sixteen sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> MinPairs256(ulong mins) => Vector256.WidenLower(MinPairs(mins).ToVector256Unsafe()).AsInt16();

    /// <summary><see cref="MinsDot(ulong, ref BlockQ8K)"/> in four lanes, whose sum is the dot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinsDot128(ulong mins, ref BlockQ8K y)
    {
        var (lower, upper) = Vector128.Widen(MinPairs(mins));
        return WordDot.MultiplyAdd(Vector128.LoadUnsafe(ref y.BSums[0]), lower.AsInt16())
            + WordDot.MultiplyAdd(Vector128.LoadUnsafe(ref y.BSums[8]), upper.AsInt16());
    }

    /// <summary>Each min twice, to meet the two 16-quant sums of its sub-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> MinPairs(ulong mins) =>
        Vector128.Shuffle(Vector128.CreateScalar(mins).AsByte(), Vector128.Create((byte)0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));

    /// <summary>The family's fields for <see cref="KQuant512{TFormat, TKernel}"/>: mins scaled by <c>dmin</c>.</summary>
    internal readonly struct Kernel512 : IKQuant512
    {
        public static int SubBlockSize => 32;

        public static bool OffsetsScaledByD => false;

        public static int OffsetShift => 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> Scales512(byte* block, out Vector256<short> offsets, out float d, out float offsetScale)
        {
            KQuants.UnpackScalesAndMins(ref block[ScalesOffset], out ulong scales, out ulong mins);
            offsets = MinPairs256(mins);
            d = KQuants.HalfToSingle(D(ref *block));
            offsetScale = KQuants.HalfToSingle(DMin(ref *block));
            return Vector512.WidenLower(Vector512.CreateScalar(scales).AsByte()).AsInt16();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> Quants512(byte* block, int quarter) => TFormat.Quants512(block, quarter);
    }
}
