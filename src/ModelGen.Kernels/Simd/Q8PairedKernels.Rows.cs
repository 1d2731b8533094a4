using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels.Simd;

/// <summary>Matrix-vector products on the 512-bit path: sixteen weight rows against one activation row at a time.</summary>
/// <remarks>
/// <para>
/// A dot of one row ends in work that does not vectorise within the row: summing its float lanes, and the blocks after
/// its last whole group, each of which converts its own scales and sums its own eight lanes. For a row of 18 blocks
/// (a 576-wide model) that end costs as much as a group; for a row of 2 blocks (a 64-wide model's output projection)
/// it is all there is. Across sixteen rows the same work vectorises: lane r of a batch's vectors belongs to row r.
/// And what the group loop does to the activation row alone is done once per tile (<see cref="Prepare"/>).
/// </para>
/// <para>
/// Every output equals <see cref="Dot512"/>'s bit for bit: the groups compute the same integer products and float
/// operations row by row, the lane sums follow <see cref="LaneSums"/>' order transposed, and each tail block is
/// scaled, summed and added in <see cref="UngroupedDot256"/>'s order, lane by lane.
/// </para>
/// </remarks>
internal static partial class Q8PairedKernels<TFormat>
{
    /// <summary>Weight rows per batch: one 512-bit vector of outputs.</summary>
    private const int BatchRows = 16;

    /// <summary>Every row of a one-activation-row tile: whole batches by <see cref="Rows16"/>, the rest by <see cref="Dot512"/>.</summary>
    [SkipLocalsInit]
    private static void RowBatches512(in WeightTile tile, int blocks)
    {
        ref byte w = ref MemoryMarshal.GetReference(tile.Weights);
        ref byte a = ref MemoryMarshal.GetReference(tile.Activations);
        ref float y = ref MemoryMarshal.GetReference(tile.Output);
        nint stride = tile.WeightStride;
        int r = 0;
        if (tile.Rows >= BatchRows)
        {
            int groups = blocks / Group;
            int preparedBytes = groups * PreparedGroupBytes;
            byte[]? rented = null;
            Span<byte> prepared = preparedBytes <= MaxStackBytes ? stackalloc byte[preparedBytes] : rented = ArrayPool<byte>.Shared.Rent(preparedBytes);
            Prepare(ref a, groups, ref MemoryMarshal.GetReference(prepared));
            for (; r + BatchRows <= tile.Rows; r += BatchRows)
            {
                Rows16(ref Unsafe.Add(ref w, r * stride), stride, ref a, ref MemoryMarshal.GetReference(prepared), blocks).StoreUnsafe(ref Unsafe.Add(ref y, r));
            }

            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        for (; r < tile.Rows; r++)
        {
            Unsafe.Add(ref y, r) = Dot512(ref Unsafe.Add(ref w, r * stride), ref a, blocks);
        }
    }

    /// <summary>Lane r: <see cref="Dot512"/> of weight row r, <paramref name="stride"/> bytes after row r - 1, with <paramref name="a"/>.</summary>
    /// <param name="w">The first weight row's blocks.</param>
    /// <param name="stride">Bytes from one weight row to the next.</param>
    /// <param name="a">The activation row's blocks.</param>
    /// <param name="blocks">Blocks in a row.</param>
    /// <param name="prepared">The whole groups of <paramref name="a"/>, as <see cref="Prepare"/> lays them out.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private static Vector512<float> Rows16(ref byte w, nint stride, ref byte a, ref byte prepared, int blocks)
    {
        int groups = blocks / Group;
        nint grouped = groups * Group;
        ref byte tail = ref Unsafe.Add(ref w, grouped * TFormat.BlockBytes);
        ref byte tailActivations = ref Unsafe.Add(ref a, grouped * ActivationBytes);
        if (groups == 0)
        {
            return TailSums16(ref tail, stride, ref tailActivations, blocks);
        }

        // Each row's float lanes go through memory, which costs two accesses a row: kept in registers, sixteen
        // accumulators and a group's operands do not fit.
        Span<float> lanes = stackalloc float[BatchRows * Vector512<float>.Count];
        Span<float> minimums = stackalloc float[BatchRows];
        ref float lane = ref MemoryMarshal.GetReference(lanes);
        for (int r = 0; r < BatchRows; r++)
        {
            PreparedGroupSums512(ref Unsafe.Add(ref w, r * stride), ref prepared, groups, out minimums[r]).StoreUnsafe(ref lane, (nuint)(r * Vector512<float>.Count));
        }

        // Total512's order: the lane sums, plus the minimums, plus the tail (0 if there is none). The tails come
        // last: each follows its row's groups in memory, so the row's stream has brought it into cache; read first,
        // sixteen rows apart, they stall the streams (a 576-wide matrix from DRAM ran 3.5 times slower).
        return LaneSums.Of(MemoryMarshal.Cast<float, Vector512<float>>(lanes)) + Vector512.Create<float>(minimums) + TailSums16(ref tail, stride, ref tailActivations, blocks - (int)grouped);
    }

    /// <summary>
    /// Bytes of a prepared group: the quants of its four pairs of blocks, 64 bytes each; for a
    /// <see cref="QuantEncoding.Centered"/> format their <see cref="ByteDot.CenterProducts"/>, 64 bytes each; the
    /// eight scales as floats; and for an <see cref="QuantEncoding.Offset"/> format the eight Q8_1 sums as floats.
    /// </summary>
    private static int PreparedGroupBytes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => PreparedScalesOffset + (HasMinimum ? 2 : 1) * Group * sizeof(float);
    }

    private static int PreparedScalesOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (TFormat.Encoding == QuantEncoding.Centered ? 2 : 1) * Group * BlockSize;
    }

    /// <summary>Prepared activations up to this size live on the stack (a row of 4,096 blocks); longer ones in a rented array.</summary>
    private const int MaxStackBytes = 32 * 1024;

    /// <summary>
    /// Lays out the whole <paramref name="groups"/> of the activation row <paramref name="a"/> for
    /// <see cref="PreparedGroupSums512"/>: once per tile, instead of once per weight row, the quants of each pair of
    /// blocks are brought together, the zero point's products taken and the scales converted.
    /// </summary>
    private static void Prepare(ref byte a, int groups, ref byte prepared)
    {
        for (int g = 0; g < groups; g++)
        {
            for (int pair = 0; pair < Group / 2; pair++)
            {
                var quants = ActivationPair(ref Unsafe.Add(ref a, 2 * pair * ActivationBytes));
                quants.StoreUnsafe(ref Unsafe.As<byte, sbyte>(ref prepared), (nuint)(pair * Vector512<byte>.Count));
                if (TFormat.Encoding == QuantEncoding.Centered)
                {
                    ByteDot.CenterProducts(TFormat.ZeroPoint, quants).AsByte().StoreUnsafe(ref prepared, (nuint)((Group / 2 + pair) * Vector512<byte>.Count));
                }
            }

            ref float scales = ref Unsafe.As<byte, float>(ref Unsafe.Add(ref prepared, PreparedScalesOffset));
            FloatConversions.HalfToSingle(Vector256.WidenLower(GatherHalves(ref a, ActivationBytes, 0).ToVector256Unsafe())).StoreUnsafe(ref scales);
            if (HasMinimum)
            {
                FloatConversions.HalfToSingle(Vector256.WidenLower(GatherHalves(ref a, ActivationBytes, 2).ToVector256Unsafe())).StoreUnsafe(ref scales, Group);
            }

            a = ref Unsafe.Add(ref a, Group * ActivationBytes);
            prepared = ref Unsafe.Add(ref prepared, PreparedGroupBytes);
        }
    }

    /// <summary>
    /// <see cref="GroupSums512"/> against an activation row laid out by <see cref="Prepare"/>: the same integer
    /// products and the same float operations, so the same lanes bit for bit, with less work per weight row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PreparedGroupSums512(ref byte w, ref byte prepared, int groups, out float minimumSum)
    {
        var weightScales = FieldGather512.Create(TFormat.BlockBytes, 0);
        var weightMinimums = FieldGather512.Create(TFormat.BlockBytes, 2);
        var sums = Vector512<float>.Zero;
        var minimums = Vector256<float>.Zero;
        for (int g = 0; g < groups; g++)
        {
            ref float activationScales = ref Unsafe.As<byte, float>(ref Unsafe.Add(ref prepared, PreparedScalesOffset));
            var scales = (PreparedHalves(ref w, weightScales) * Vector256.LoadUnsafe(ref activationScales)).ToVector512Unsafe();
            if (HasMinimum)
            {
                minimums += PreparedHalves(ref w, weightMinimums) * Vector256.LoadUnsafe(ref activationScales, Group);
            }

            // Unrolled, so that each pair's scale lanes are a constant shuffle.
            sums = PreparedStep512(ref w, ref prepared, 0, scales, sums);
            sums = PreparedStep512(ref w, ref prepared, 1, scales, sums);
            sums = PreparedStep512(ref w, ref prepared, 2, scales, sums);
            sums = PreparedStep512(ref w, ref prepared, 3, scales, sums);
            w = ref Unsafe.Add(ref w, Group * TFormat.BlockBytes);
            prepared = ref Unsafe.Add(ref prepared, PreparedGroupBytes);
        }

        minimumSum = HasMinimum ? Vector256.Sum(minimums) : 0;
        return sums;
    }

    /// <summary>A group's weight FP16 fields at the offset <paramref name="fields"/> names, as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PreparedHalves(ref byte w, in FieldGather512.Fields fields) =>
        FloatConversions.HalfToSingle(Vector256.WidenLower(FieldGather512.Gather(ref w, TFormat.BlockBytes, fields).ToVector256Unsafe()));

    /// <summary><see cref="Step512"/> against a prepared group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PreparedStep512(ref byte w, ref byte prepared, int pair, Vector512<float> scales, Vector512<float> sums)
    {
        var weights = TFormat.UnpackPair(ref Unsafe.Add(ref w, 2 * pair * TFormat.BlockBytes));
        var quants = Vector512.LoadUnsafe(ref Unsafe.As<byte, sbyte>(ref prepared), (nuint)(pair * Vector512<byte>.Count));
        var products = TFormat.Encoding == QuantEncoding.Centered
            ? ByteDot.MultiplyAddU8S8Less(
                weights.AsByte(), quants, Vector512.LoadUnsafe(ref Unsafe.As<byte, short>(ref prepared), (nuint)((Group / 2 + pair) * Vector512<short>.Count)))
            : MultiplyAdd(weights, quants);
        return Vector512.MultiplyAddEstimate(Vector512.ConvertToSingle(products), Permute(scales, PairLanes(pair)), sums);
    }

    /// <summary>
    /// Lane r: <see cref="UngroupedDot256"/> of the <paramref name="blocks"/> (fewer than a group) at
    /// <paramref name="w"/> + r * <paramref name="stride"/>, with those at <paramref name="a"/>.
    /// </summary>
    /// <remarks>
    /// Out of line: inlined into <see cref="Rows16"/> beside the group loop, a format with a costly unpack (Q5_0) used
    /// up the JIT's inlining budget, and the block products and lane sums were left as calls that pass vectors
    /// through memory.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> TailSums16(ref byte w, nint stride, ref byte a, int blocks)
    {
        var sums = Vector512<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            ref byte block = ref Unsafe.Add(ref w, b * TFormat.BlockBytes);
            ref byte activation = ref Unsafe.Add(ref a, b * ActivationBytes);
            var scales = FloatConversions.HalfToSingle(RowFields16(ref block, stride, 0)) * Half(ref activation, 0);
            var quants = Vector512.Create(Vector256.LoadUnsafe(ref Unsafe.Add(ref activation, QuantsOffset)).AsSByte());
            sums += LaneSums.OfHalves(
                BlockProducts(ref block, stride, 0, quants, scales), BlockProducts(ref block, stride, 1, quants, scales),
                BlockProducts(ref block, stride, 2, quants, scales), BlockProducts(ref block, stride, 3, quants, scales),
                BlockProducts(ref block, stride, 4, quants, scales), BlockProducts(ref block, stride, 5, quants, scales),
                BlockProducts(ref block, stride, 6, quants, scales), BlockProducts(ref block, stride, 7, quants, scales));
            if (HasMinimum)
            {
                sums += FloatConversions.HalfToSingle(RowFields16(ref block, stride, 2)) * Half(ref activation, 2);
            }
        }

        return sums;
    }

    /// <summary>
    /// The scaled products of one block of rows 2k and 2k + 1 (k = <paramref name="pair"/>) with the activation block
    /// <paramref name="quants"/> (in both halves), as <see cref="UngroupedDot256"/> computes them for one row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BlockProducts(ref byte block, nint stride, int pair, Vector512<sbyte> quants, Vector512<float> scales)
    {
        var weights = Vector512.Create(TFormat.Unpack(ref Unsafe.Add(ref block, 2 * pair * stride)), TFormat.Unpack(ref Unsafe.Add(ref block, (2 * pair + 1) * stride)));
        return Vector512.MultiplyAddEstimate(Vector512.ConvertToSingle(MultiplyAdd(weights, quants)), Permute(scales, PairLanes(pair)), Vector512<float>.Zero);
    }

    /// <summary>The 16-bit fields at <paramref name="offset"/> of sixteen blocks <paramref name="stride"/> bytes apart, zero-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> RowFields16(ref byte blocks, nint stride, int offset)
    {
        ref byte field = ref Unsafe.Add(ref blocks, offset);
        return Vector512.Create(
            Vector256.WidenLower(GatherHalves(ref field, (int)stride, 0).ToVector256Unsafe()),
            Vector256.WidenLower(GatherHalves(ref Unsafe.Add(ref field, 8 * stride), (int)stride, 0).ToVector256Unsafe()));
    }
}
