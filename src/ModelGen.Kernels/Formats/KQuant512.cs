using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

/// <summary>
/// The 512-bit dot product with Q8_K of a K-quant format, and its tiles
/// (<see cref="IWeightFormat{TActivation}.TryDotTile"/>): every tile output bit for bit the dot of its pair.
/// </summary>
/// <remarks>
/// <para>
/// Each super-block's scaled products stay in int32 lanes until one float multiply-add by <c>d_a * d</c>. The dot
/// adds even super-blocks into one <see cref="Accumulators512"/> and odd ones into another, two independent chains
/// the core overlaps, and sums the two at the end.
/// </para>
/// <para>
/// What a super-block's dot needs of the weights alone (scales unpacked, widened and spread over the lanes that
/// <c>pmaddwd</c> multiplies, quants unpacked, FP16 scales converted) is about as much vector work as the products
/// themselves. A tile does it once per weight super-block for up to four activation rows instead of once per pair.
/// It keeps each pair's order of float operations, but runs the even and the odd chain one after the other, so that
/// four accumulator sets are live, not eight: four pairs already are independent chains, and eight sets beside a
/// step's operands would not fit in the 32 vector registers. One weight row, not several, per register tile: more
/// rows would share only the activation loads, which the multiplies take from L1 as memory operands. With one
/// activation row there is nothing to share, so such tiles decline and take the dot.
/// </para>
/// </remarks>
internal static unsafe class KQuant512<TFormat, TKernel>
    where TFormat : IWeightFormat<Q8_K>
    where TKernel : IKQuant512
{
    /// <summary>Activation rows a register tile takes at once.</summary>
    private const int Columns = 4;

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

    /// <summary><see cref="IWeightFormat{TActivation}.TryDotTile"/>: each weight row against the tile's activation rows, four at a time.</summary>
    public static bool TryDotTile(SimdPath path, in WeightTile tile)
    {
        if (path != SimdPath.Vector512 || tile.ActivationRows < 2)
        {
            return false;
        }

        if (tile.Count < 0 || tile.Count % KQuants.BlockSize != 0)
        {
            throw new ArgumentException($"{tile.Count} elements is not a whole number of {TFormat.Type} blocks of {KQuants.BlockSize}", nameof(tile));
        }

        int blocks = tile.Count / KQuants.BlockSize;
        tile.Check(blocks * TFormat.BlockBytes, blocks * Q8_K.BlockBytes);
        ref byte a = ref MemoryMarshal.GetReference(tile.Activations);
        ref float y = ref MemoryMarshal.GetReference(tile.Output);
        nint activationStride = tile.ActivationStride, outputStride = tile.OutputStride;
        fixed (byte* w = tile.Weights)
        {
            for (int r = 0; r < tile.Rows; r++)
            {
                byte* row = w + r * (nint)tile.WeightStride;
                int t = 0;
                for (; t + Columns <= tile.ActivationRows; t += Columns)
                {
                    Row<Four>(row, ref Unsafe.Add(ref a, t * activationStride), activationStride, blocks, ref Unsafe.Add(ref y, t * outputStride + r), outputStride);
                }

                ref byte rest = ref Unsafe.Add(ref a, t * activationStride);
                ref float output = ref Unsafe.Add(ref y, t * outputStride + r);
                switch (tile.ActivationRows - t)
                {
                    case 3:
                        Row<Three>(row, ref rest, activationStride, blocks, ref output, outputStride);
                        break;
                    case 2:
                        Row<Two>(row, ref rest, activationStride, blocks, ref output, outputStride);
                        break;
                    case 1:
                        Row<One>(row, ref rest, activationStride, blocks, ref output, outputStride);
                        break;
                }
            }
        }

        return true;
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
    /// <paramref name="acc"/>. The one place that orders these operations, for the dot and the tiles alike.
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

    /// <summary>
    /// The weight row at <paramref name="x"/> against <typeparamref name="TColumns"/> activation rows (up to four) at
    /// <paramref name="a"/>: <see cref="Dot"/> of each pair, into <c>y[t * outputStride]</c>.
    /// </summary>
    /// <remarks>Kept out of line, as <see cref="Dot"/> is. Rows a shape lacks alias row 0 and are never read: their code folds away.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Row<TColumns>(byte* x, ref byte a, nint activationStride, int blocks, ref float y, nint outputStride)
        where TColumns : struct, ITileExtent
    {
        int columns = TColumns.Value;
        ref BlockQ8K y0 = ref Unsafe.As<byte, BlockQ8K>(ref a);
        ref BlockQ8K y1 = ref columns > 1 ? ref Unsafe.As<byte, BlockQ8K>(ref Unsafe.Add(ref a, activationStride)) : ref y0;
        ref BlockQ8K y2 = ref columns > 2 ? ref Unsafe.As<byte, BlockQ8K>(ref Unsafe.Add(ref a, 2 * activationStride)) : ref y0;
        ref BlockQ8K y3 = ref columns > 3 ? ref Unsafe.As<byte, BlockQ8K>(ref Unsafe.Add(ref a, 3 * activationStride)) : ref y0;
        var spreads = new Spreads512(TKernel.SubBlockSize);

        // Even super-blocks into the first sets, odd ones into the second, as the dot adds them.
        Accumulators512 first0 = default, first1 = default, first2 = default, first3 = default;
        for (int i = 0; i < blocks; i += 2)
        {
            TileBlock<TColumns>(
                x + i * TFormat.BlockBytes, ref Unsafe.Add(ref y0, i), ref Unsafe.Add(ref y1, i), ref Unsafe.Add(ref y2, i), ref Unsafe.Add(ref y3, i),
                spreads, ref first0, ref first1, ref first2, ref first3);
        }

        Accumulators512 second0 = default, second1 = default, second2 = default, second3 = default;
        for (int i = 1; i < blocks; i += 2)
        {
            TileBlock<TColumns>(
                x + i * TFormat.BlockBytes, ref Unsafe.Add(ref y0, i), ref Unsafe.Add(ref y1, i), ref Unsafe.Add(ref y2, i), ref Unsafe.Add(ref y3, i),
                spreads, ref second0, ref second1, ref second2, ref second3);
        }

        y = Accumulators512.Total(first0, second0);
        if (columns > 1)
        {
            Unsafe.Add(ref y, outputStride) = Accumulators512.Total(first1, second1);
        }

        if (columns > 2)
        {
            Unsafe.Add(ref y, 2 * outputStride) = Accumulators512.Total(first2, second2);
        }

        if (columns > 3)
        {
            Unsafe.Add(ref y, 3 * outputStride) = Accumulators512.Total(first3, second3);
        }
    }

    /// <summary>
    /// <see cref="Block"/> for up to four activation rows: the weight super-block at <paramref name="x"/> unpacked
    /// once, against activation row t's super-block into <c>acc t</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileBlock<TColumns>(
        byte* x,
        ref BlockQ8K y0,
        ref BlockQ8K y1,
        ref BlockQ8K y2,
        ref BlockQ8K y3,
        in Spreads512 spreads,
        ref Accumulators512 acc0,
        ref Accumulators512 acc1,
        ref Accumulators512 acc2,
        ref Accumulators512 acc3)
        where TColumns : struct, ITileExtent
    {
        var scales = TKernel.Scales512(x, out var offsets, out float d, out float offsetScale);
        Vector512<int> sums0 = default, sums1 = default, sums2 = default, sums3 = default;
        Quarter<TColumns>(TKernel.Quants512(x, 0), WordShuffle.Permute(scales, spreads.First), 0, ref y0, ref y1, ref y2, ref y3, ref sums0, ref sums1, ref sums2, ref sums3);
        Quarter<TColumns>(TKernel.Quants512(x, 1), WordShuffle.Permute(scales, spreads.Second), 1, ref y0, ref y1, ref y2, ref y3, ref sums0, ref sums1, ref sums2, ref sums3);
        Quarter<TColumns>(TKernel.Quants512(x, 2), WordShuffle.Permute(scales, spreads.Third), 2, ref y0, ref y1, ref y2, ref y3, ref sums0, ref sums1, ref sums2, ref sums3);
        Quarter<TColumns>(TKernel.Quants512(x, 3), WordShuffle.Permute(scales, spreads.Fourth), 3, ref y0, ref y1, ref y2, ref y3, ref sums0, ref sums1, ref sums2, ref sums3);
        Accumulate(ref y0, sums0, offsets, d, offsetScale, ref acc0);
        if (TColumns.Value > 1)
        {
            Accumulate(ref y1, sums1, offsets, d, offsetScale, ref acc1);
        }

        if (TColumns.Value > 2)
        {
            Accumulate(ref y2, sums2, offsets, d, offsetScale, ref acc2);
        }

        if (TColumns.Value > 3)
        {
            Accumulate(ref y3, sums3, offsets, d, offsetScale, ref acc3);
        }
    }

    /// <summary>
    /// Quarter <paramref name="quarter"/> of a super-block (weights 64q to 64q + 63): its unpacked
    /// <paramref name="quants"/> and spread <paramref name="scales"/> against each activation row's quants, added to
    /// that row's integer sums (exact, so in any order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quarter<TColumns>(
        Vector512<byte> quants,
        Vector512<short> scales,
        int quarter,
        ref BlockQ8K y0,
        ref BlockQ8K y1,
        ref BlockQ8K y2,
        ref BlockQ8K y3,
        ref Vector512<int> sums0,
        ref Vector512<int> sums1,
        ref Vector512<int> sums2,
        ref Vector512<int> sums3)
        where TColumns : struct, ITileExtent
    {
        nuint offset = (nuint)(64 * quarter);
        sums0 += ScaledByteDot.MultiplyAddU8S8(quants, Vector512.LoadUnsafe(ref y0.Qs[0], offset), scales);
        if (TColumns.Value > 1)
        {
            sums1 += ScaledByteDot.MultiplyAddU8S8(quants, Vector512.LoadUnsafe(ref y1.Qs[0], offset), scales);
        }

        if (TColumns.Value > 2)
        {
            sums2 += ScaledByteDot.MultiplyAddU8S8(quants, Vector512.LoadUnsafe(ref y2.Qs[0], offset), scales);
        }

        if (TColumns.Value > 3)
        {
            sums3 += ScaledByteDot.MultiplyAddU8S8(quants, Vector512.LoadUnsafe(ref y3.Qs[0], offset), scales);
        }
    }
}
