using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// A K-quant of sixteen 16-weight sub-blocks (Q2_K, Q3_K, Q6_K): weight = <c>d * scale * u - e * offset</c> with a
/// small unsigned stored quant u, an 8-bit sub-block scale and offset, and e either <c>d</c> (Q3_K and Q6_K store
/// their signed quants biased by 4 and 32: offset = scale &lt;&lt; 2 or &lt;&lt; 5) or a second super-block scale
/// (Q2_K's <c>dmin</c> times its 4-bit mins). The format says how to read its fields,
/// <see cref="SixteenScaleKernels{TFormat}"/> computes the dot product with Q8_K.
/// </summary>
internal unsafe interface ISixteenScaleFormat : IWeightFormat<Q8_K>
{
    /// <summary>
    /// Whether the quants are stored biased (Q3_K, Q6_K): the offsets are then the scales, and <see cref="OffsetScale"/>
    /// is <c>d</c>, so that they come off in integers.
    /// </summary>
    static abstract bool OffsetsScaledByD { get; }

    /// <summary>The offset of sub-block j is <c>offsets[j] &lt;&lt; OffsetShift</c>.</summary>
    static abstract int OffsetShift { get; }

    /// <summary>The super-block scale d.</summary>
    static abstract float D(ref byte block);

    /// <summary>The super-block scale of the offsets.</summary>
    static abstract float OffsetScale(ref byte block);

    /// <summary>The sixteen sub-block scales and offsets (before <see cref="OffsetShift"/>).</summary>
    static abstract (Vector128<sbyte> Scales, Vector128<sbyte> Offsets) Scales(ref byte block);

    /// <summary>Stored quant <paramref name="index"/> (0 to 255): the scalar reference.</summary>
    static abstract int Quant(ref byte block, int index);

    /// <summary>The stored quants of weights 64q to 64q+63. The block must not move.</summary>
    static abstract Vector512<byte> Quants512(byte* block, int quarter);

    /// <summary>The stored quants of weights 32e to 32e+31.</summary>
    static abstract Vector256<byte> Quants256(ref byte block, int eighth);

    /// <summary>The stored quants of weights 16s to 16s+15.</summary>
    static abstract Vector128<byte> Quants128(ref byte block, int sixteenth);
}

/// <summary>The dot product with Q8_K of an <see cref="ISixteenScaleFormat"/>.</summary>
/// <remarks>
/// The vector paths weigh each 16 products of stored quants by the sub-block scale with <c>pmaddubsw</c>/<c>pmaddwd</c>
/// (<see cref="ScaledByteDot"/>; stored quants are at most 63, so pairs of products at most 2*63*128) and take the
/// offsets off with Q8_K's sums of 16 quants, all in int32 lanes until one float multiply-add per super-block.
/// </remarks>
internal static unsafe class SixteenScaleKernels<TFormat>
    where TFormat : ISixteenScaleFormat
{
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

    // Kept out of line: inlined into a caller, these block loops exhaust the JIT's inlining budget and
    // their vector helpers stay calls (2-7x slower, measured); compiled as their own roots they are fully inlined.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float DotScalar(ref byte x, ref BlockQ8K y, int blocks)
    {
        float sum = 0;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, TFormat.BlockBytes), y = ref Unsafe.Add(ref y, 1))
        {
            var (scales, offsets) = TFormat.Scales(ref x);
            ReadOnlySpan<sbyte> q8 = y.Qs;
            int dots = 0;
            int offsetDots = 0;
            for (int j = 0; j < 16; j++)
            {
                int dot = 0;
                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    dot += TFormat.Quant(ref x, l) * q8[l];
                }

                dots += scales.GetElement(j) * dot;
                offsetDots += (offsets.GetElement(j) << TFormat.OffsetShift) * y.BSums[j];
            }

            float d = y.D * TFormat.D(ref x);
            sum += TFormat.OffsetsScaledByD ? d * (dots - offsetDots) : d * dots - y.D * TFormat.OffsetScale(ref x) * offsetDots;
        }

        return sum;
    }

    /// <summary><see cref="IWeightFormat{TActivation}.TryDotTile"/>: on the 512-bit path, see <see cref="KQuant512{TFormat, TKernel}"/>.</summary>
    public static bool TryDotTile(SimdPath path, in WeightTile tile) => KQuant512<TFormat, Kernel512>.TryDotTile(path, tile);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot256(ref byte x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector256<float>.Zero;
        var accOffsets = Vector256<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, TFormat.BlockBytes), y = ref Unsafe.Add(ref y, 1))
        {
            var (scales, offsets) = TFormat.Scales(ref x);
            ref sbyte q8 = ref y.Qs[0];
            var sums = Eighth(ref x, ref q8, scales, 0) + Eighth(ref x, ref q8, scales, 1) + Eighth(ref x, ref q8, scales, 2) + Eighth(ref x, ref q8, scales, 3)
                + Eighth(ref x, ref q8, scales, 4) + Eighth(ref x, ref q8, scales, 5) + Eighth(ref x, ref q8, scales, 6) + Eighth(ref x, ref q8, scales, 7);

            var offsetDots = OffsetDots(ref y, offsets);
            float d = y.D * TFormat.D(ref x);
            if (TFormat.OffsetsScaledByD)
            {
                acc = Vector256.FusedMultiplyAdd(Vector256.Create(d), Vector256.ConvertToSingle(sums - offsetDots), acc);
            }
            else
            {
                acc = Vector256.FusedMultiplyAdd(Vector256.Create(d), Vector256.ConvertToSingle(sums), acc);
                accOffsets = Vector256.FusedMultiplyAdd(Vector256.Create(-y.D * TFormat.OffsetScale(ref x)), Vector256.ConvertToSingle(offsetDots), accOffsets);
            }
        }

        return Vector256.Sum(acc) + Vector256.Sum(accOffsets);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Dot128(ref byte x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector128<float>.Zero;
        var accOffsets = Vector128<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, TFormat.BlockBytes), y = ref Unsafe.Add(ref y, 1))
        {
            var (scales, offsets) = TFormat.Scales(ref x);
            ref sbyte q8 = ref y.Qs[0];
            var sums = Sixteenth(ref x, ref q8, scales, 0) + Sixteenth(ref x, ref q8, scales, 1) + Sixteenth(ref x, ref q8, scales, 2) + Sixteenth(ref x, ref q8, scales, 3)
                + Sixteenth(ref x, ref q8, scales, 4) + Sixteenth(ref x, ref q8, scales, 5) + Sixteenth(ref x, ref q8, scales, 6) + Sixteenth(ref x, ref q8, scales, 7)
                + Sixteenth(ref x, ref q8, scales, 8) + Sixteenth(ref x, ref q8, scales, 9) + Sixteenth(ref x, ref q8, scales, 10) + Sixteenth(ref x, ref q8, scales, 11)
                + Sixteenth(ref x, ref q8, scales, 12) + Sixteenth(ref x, ref q8, scales, 13) + Sixteenth(ref x, ref q8, scales, 14) + Sixteenth(ref x, ref q8, scales, 15);

            var (lowerOffsets, upperOffsets) = Vector128.Widen(offsets);
            var offsetDots = (WordDot.MultiplyAdd(Vector128.LoadUnsafe(ref y.BSums[0]), lowerOffsets)
                + WordDot.MultiplyAdd(Vector128.LoadUnsafe(ref y.BSums[8]), upperOffsets)) << TFormat.OffsetShift;
            float d = y.D * TFormat.D(ref x);
            if (TFormat.OffsetsScaledByD)
            {
                acc = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(sums - offsetDots), acc);
            }
            else
            {
                acc = Vector128.FusedMultiplyAdd(Vector128.Create(d), Vector128.ConvertToSingle(sums), acc);
                accOffsets = Vector128.FusedMultiplyAdd(Vector128.Create(-y.D * TFormat.OffsetScale(ref x)), Vector128.ConvertToSingle(offsetDots), accOffsets);
            }
        }

        return Vector128.Sum(acc) + Vector128.Sum(accOffsets);
    }

    /// <summary>Lanes summing to <c>sum over j of (offsets[j] &lt;&lt; OffsetShift) * bsums[j]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> OffsetDots(ref BlockQ8K y, Vector128<sbyte> offsets) =>
        WordDot.MultiplyAdd(Vector256.LoadUnsafe(ref y.BSums[0]), Vector256.WidenLower(offsets.ToVector256Unsafe())) << TFormat.OffsetShift;

    // The 256 and 128-bit steps, called with constant indices (written out, not looped), so that shift counts and
    // shuffle controls are constants.

    /// <summary>Weights 32e to 32e+31: sub-blocks 2e (lower 128 bits) and 2e + 1 (upper).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Eighth(ref byte x, ref sbyte q8, Vector128<sbyte> scales, int e)
    {
        byte first = (byte)(2 * e);
        byte second = (byte)(2 * e + 1);
        var pair = PackedQuants.Lookup(scales, Vector128.Create(first, first, first, first, first, first, first, first, second, second, second, second, second, second, second, second));
        return ScaledByteDot.MultiplyAddU8S8(TFormat.Quants256(ref x, e), Vector256.LoadUnsafe(ref q8, (nuint)(32 * e)), Vector256.WidenLower(pair.ToVector256Unsafe()));
    }

    /// <summary>Weights 16s to 16s+15: sub-block s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sixteenth(ref byte x, ref sbyte q8, Vector128<sbyte> scales, int s)
    {
        var scale = Vector128.WidenLower(PackedQuants.Lookup(scales, Vector128.Create((byte)s)));
        return ScaledByteDot.MultiplyAddU8S8(TFormat.Quants128(ref x, s), Vector128.LoadUnsafe(ref q8, (nuint)(16 * s)), scale);
    }

    /// <summary>The family's fields for <see cref="KQuant512{TFormat, TKernel}"/>.</summary>
    internal readonly struct Kernel512 : IKQuant512
    {
        public static int SubBlockSize => 16;

        public static bool OffsetsScaledByD => TFormat.OffsetsScaledByD;

        public static int OffsetShift => TFormat.OffsetShift;

        /// <remarks>A biased format's offsets are its scales: widened once, for both.</remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> Scales512(byte* block, out Vector256<short> offsets, out float d, out float offsetScale)
        {
            var (scales, packedOffsets) = TFormat.Scales(ref *block);
            var scales16 = Vector512.WidenLower(scales.ToVector256Unsafe().ToVector512Unsafe());
            offsets = TFormat.OffsetsScaledByD ? scales16.GetLower() : Vector256.WidenLower(packedOffsets.ToVector256Unsafe());
            d = TFormat.D(ref *block);
            offsetScale = TFormat.OffsetsScaledByD ? d : TFormat.OffsetScale(ref *block);
            return scales16;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> Quants512(byte* block, int quarter) => TFormat.Quants512(block, quarter);
    }
}
