using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// What the 512-bit kernels of <see cref="KQuant512{TFormat, TKernel}"/> need of a K-quant family (Q4_K and Q5_K's
/// eight 32-weight sub-blocks with mins, Q2_K, Q3_K and Q6_K's sixteen 16-weight ones with offsets): how to unpack a
/// super-block's scales and quants, and how its offsets are scaled.
/// </summary>
/// <remarks>
/// Both families weigh each sub-block's products of quants by its scale in <c>pmaddwd</c> and take the mins or
/// offsets off with Q8_K's sums of 16 quants (a min stands for two of them, so it is given twice), and differ only in
/// how their fields are packed.
/// </remarks>
internal unsafe interface IKQuant512
{
    /// <summary>Weights per sub-block scale.</summary>
    static abstract int SubBlockSize { get; }

    /// <summary>
    /// Whether the offsets come off the integer sums before the one scaling by <c>d</c> (biased quants, whose offsets
    /// are their scales), or are scaled by their own super-block scale into <see cref="Accumulators512.Offsets"/>.
    /// </summary>
    static abstract bool OffsetsScaledByD { get; }

    /// <summary>The offsets' dot with Q8_K's sums is shifted left by this.</summary>
    static abstract int OffsetShift { get; }

    /// <summary>
    /// The super-block's sub-block scales in int16 lanes (the first <c>256 / SubBlockSize</c>), and its offsets, one
    /// per int16 lane to meet Q8_K's sixteen sums, its scale <paramref name="d"/> and its offsets' scale.
    /// </summary>
    static abstract Vector512<short> Scales512(byte* block, out Vector256<short> offsets, out float d, out float offsetScale);

    /// <summary>The stored quants of weights 64q to 64q + 63. The block must not move.</summary>
    static abstract Vector512<byte> Quants512(byte* block, int quarter);
}

/// <summary>The 512-bit dot product with Q8_K of a K-quant format.</summary>
/// <remarks>
/// Each super-block's scaled products stay in int32 lanes until one float multiply-add by <c>d_a * d</c>. The dot
/// adds even super-blocks into one <see cref="Accumulators512"/> and odd ones into another, two independent chains
/// the core overlaps, and sums the two at the end.
/// </remarks>
internal static unsafe class KQuant512<TFormat, TKernel>
    where TFormat : IWeightFormat<Q8_K>
    where TKernel : IKQuant512
{
    /// <remarks>
    /// Kept out of line: inlined into a caller, block loops like this one exhaust the JIT's inlining budget and their
    /// vector helpers stay calls (2-7x slower, measured); compiled as their own roots they are fully inlined.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Dot(byte* x, ref BlockQ8K y, int blocks)
    {
        var spreads = new Spreads512(TKernel.SubBlockSize);
        Accumulators512 first = default, second = default;
        int i = 0;
        for (; i + 2 <= blocks; i += 2, x += 2 * TFormat.BlockBytes, y = ref Unsafe.Add(ref y, 2))
        {
            Block(x, ref y, spreads, ref first);
            Block(x + TFormat.BlockBytes, ref Unsafe.Add(ref y, 1), spreads, ref second);
        }

        if (i < blocks)
        {
            Block(x, ref y, spreads, ref first);
        }

        return Accumulators512.Total(first, second);
    }

    /// <summary>One super-block of the dot, into <paramref name="acc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(byte* x, ref BlockQ8K y, in Spreads512 spreads, ref Accumulators512 acc)
    {
        var scales = TKernel.Scales512(x, out var offsets, out float d, out float offsetScale);
        ref sbyte q8 = ref y.Qs[0];
        var sums = ScaledByteDot.MultiplyAddU8S8(TKernel.Quants512(x, 0), Vector512.LoadUnsafe(ref q8), WordShuffle.Permute(scales, spreads.First))
            + ScaledByteDot.MultiplyAddU8S8(TKernel.Quants512(x, 1), Vector512.LoadUnsafe(ref q8, 64), WordShuffle.Permute(scales, spreads.Second))
            + ScaledByteDot.MultiplyAddU8S8(TKernel.Quants512(x, 2), Vector512.LoadUnsafe(ref q8, 128), WordShuffle.Permute(scales, spreads.Third))
            + ScaledByteDot.MultiplyAddU8S8(TKernel.Quants512(x, 3), Vector512.LoadUnsafe(ref q8, 192), WordShuffle.Permute(scales, spreads.Fourth));
        Accumulate(ref y, sums, offsets, d, offsetScale, ref acc);
    }

    /// <summary>
    /// A super-block's float step: its scaled integer <paramref name="sums"/> (less the offsets, if they are scaled
    /// by <c>d</c>) times <c>d_a * d</c>, and otherwise the offsets times <c>-d_a * offsetScale</c>, into
    /// <paramref name="acc"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(ref BlockQ8K y, Vector512<int> sums, Vector256<short> offsets, float d, float offsetScale, ref Accumulators512 acc)
    {
        var offsetDots = WordDot.MultiplyAdd(Vector256.LoadUnsafe(ref y.BSums[0]), offsets);
        if (TKernel.OffsetShift != 0)
        {
            offsetDots <<= TKernel.OffsetShift;
        }

        if (TKernel.OffsetsScaledByD)
        {
            acc.Sums = Vector512.FusedMultiplyAdd(Vector512.Create(y.D * d), Vector512.ConvertToSingle(sums - offsetDots.ToVector512()), acc.Sums);
        }
        else
        {
            acc.Sums = Vector512.FusedMultiplyAdd(Vector512.Create(y.D * d), Vector512.ConvertToSingle(sums), acc.Sums);
            acc.Offsets = Vector256.FusedMultiplyAdd(Vector256.Create(-y.D * offsetScale), Vector256.ConvertToSingle(offsetDots), acc.Offsets);
        }
    }
}
