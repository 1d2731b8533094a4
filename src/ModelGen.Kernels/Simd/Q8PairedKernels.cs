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
internal static partial class Q8PairedKernels<TFormat>
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

    /// <summary>
    /// <see cref="IWeightFormat{TActivation}.TryDotTile"/> on the 512-bit path, in register tiles of up to four weight
    /// rows by two activation rows; other paths, and tiles of a single activation row, decline.
    /// </summary>
    /// <remarks>
    /// A register tile converts each group's scales once per row and once per activation row instead of once per
    /// pair, unpacks each weight block pair once for both activation rows and loads each activation pair once for four
    /// weight rows. Each pair keeps its own accumulator, updated in <see cref="Dot512"/>'s order with the same
    /// float operations, so results are <see cref="Dot"/>'s bit for bit: lane by lane, the product of the two
    /// converted scales is the same <c>d_w * d_a</c> whichever vector it is computed in. Four by two keep the eight
    /// accumulators, a step's operands and the group's scales within the 32 vector registers. With one activation row
    /// (a matrix-vector product) there is no weight block to share, and scaling by two permuted scales and their
    /// product per step, instead of by one permuted product, cost more than the shared conversions saved (measured
    /// 15 % slower per pair than <see cref="Dot512"/>), so those tiles take <see cref="Dot"/>.
    /// </remarks>
    public static bool TryDotTile(SimdPath path, in WeightTile tile)
    {
        if (path != SimdPath.Vector512)
        {
            return false;
        }

        if (tile.Count < 0 || tile.Count % BlockSize != 0)
        {
            throw new ArgumentException($"{tile.Count} elements is not a whole number of {TFormat.Type} blocks of {BlockSize}", nameof(tile));
        }

        int blocks = tile.Count / BlockSize;
        tile.Check(blocks * TFormat.BlockBytes, blocks * ActivationBytes);
        if (tile.ActivationRows == 1)
        {
            RowBatches512(tile, blocks);
            return true;
        }

        ref byte w = ref MemoryMarshal.GetReference(tile.Weights);
        ref float y = ref MemoryMarshal.GetReference(tile.Output);
        int r = 0;
        for (; r + 4 <= tile.Rows; r += 4)
        {
            RowTiles512<Four>(ref Unsafe.Add(ref w, r * (nint)tile.WeightStride), tile, blocks, ref Unsafe.Add(ref y, r));
        }

        ref byte rest = ref Unsafe.Add(ref w, r * (nint)tile.WeightStride);
        switch (tile.Rows - r)
        {
            case 3:
                RowTiles512<Three>(ref rest, tile, blocks, ref Unsafe.Add(ref y, r));
                break;
            case 2:
                RowTiles512<Two>(ref rest, tile, blocks, ref Unsafe.Add(ref y, r));
                break;
            case 1:
                RowTiles512<One>(ref rest, tile, blocks, ref Unsafe.Add(ref y, r));
                break;
        }

        return true;
    }

    /// <summary>The weight rows at <paramref name="w"/> against every activation row of <paramref name="tile"/>, two at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTiles512<TRows>(ref byte w, in WeightTile tile, int blocks, ref float y)
        where TRows : struct, ITileExtent
    {
        ref byte a = ref MemoryMarshal.GetReference(tile.Activations);
        nint weightStride = tile.WeightStride, activationStride = tile.ActivationStride, outputStride = tile.OutputStride;
        int t = 0;
        for (; t + 2 <= tile.ActivationRows; t += 2)
        {
            Tile512<TRows, Two>(ref w, weightStride, ref Unsafe.Add(ref a, t * activationStride), activationStride, blocks, ref Unsafe.Add(ref y, t * outputStride), outputStride);
        }

        if (t < tile.ActivationRows)
        {
            Tile512<TRows, One>(ref w, weightStride, ref Unsafe.Add(ref a, t * activationStride), activationStride, blocks, ref Unsafe.Add(ref y, t * outputStride), outputStride);
        }
    }

    /// <summary>
    /// <typeparamref name="TRows"/> weight rows (up to four) by <typeparamref name="TColumns"/> activation rows (up to
    /// two): <see cref="Dot512"/> of each pair, into <c>y[t * outputStride + r]</c>.
    /// </summary>
    /// <remarks>Rows a shape lacks alias row 0 and are never read: their code folds away.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tile512<TRows, TColumns>(ref byte w, nint weightStride, ref byte a, nint activationStride, int blocks, ref float y, nint outputStride)
        where TRows : struct, ITileExtent
        where TColumns : struct, ITileExtent
    {
        int rows = TRows.Value, columns = TColumns.Value;
        ref byte w0 = ref w;
        ref byte w1 = ref rows > 1 ? ref Unsafe.Add(ref w, weightStride) : ref w;
        ref byte w2 = ref rows > 2 ? ref Unsafe.Add(ref w, 2 * weightStride) : ref w;
        ref byte w3 = ref rows > 3 ? ref Unsafe.Add(ref w, 3 * weightStride) : ref w;
        ref byte a0 = ref a;
        ref byte a1 = ref columns > 1 ? ref Unsafe.Add(ref a, activationStride) : ref a;

        var weightFields = FieldGather512.Create(TFormat.BlockBytes, 0);
        var activationFields = FieldGather512.Create(ActivationBytes, 0);
        Vector512<float> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        int groups = blocks / Group;
        nint wo = 0, ao = 0;
        for (int g = 0; g < groups; g++, wo += Group * TFormat.BlockBytes, ao += Group * ActivationBytes)
        {
            var (weightScales01, weightScales23, activationScales) = TileFields512<TRows, TColumns>(
                ref Unsafe.Add(ref w0, wo), ref Unsafe.Add(ref w1, wo), ref Unsafe.Add(ref w2, wo), ref Unsafe.Add(ref w3, wo),
                ref Unsafe.Add(ref a0, ao), ref Unsafe.Add(ref a1, ao), weightFields, activationFields);

            var lower = PairLanes(0);
            for (int pair = 0; pair < Group / 2; pair++, lower += Vector512.Create(2))
            {
                var upper = lower + Vector512.Create(Group);
                nint wp = wo + 2 * pair * TFormat.BlockBytes, ap = ao + 2 * pair * ActivationBytes;
                var x0 = ActivationPair(ref Unsafe.Add(ref a0, ap));
                var x1 = columns > 1 ? ActivationPair(ref Unsafe.Add(ref a1, ap)) : default;
                var scales0 = Permute(activationScales, lower);
                var scales1 = columns > 1 ? Permute(activationScales, upper) : default;
                (s00, s01) = RowStep512<TColumns>(ref Unsafe.Add(ref w0, wp), Permute(weightScales01, lower), x0, scales0, x1, scales1, s00, s01);
                if (rows > 1)
                {
                    (s10, s11) = RowStep512<TColumns>(ref Unsafe.Add(ref w1, wp), Permute(weightScales01, upper), x0, scales0, x1, scales1, s10, s11);
                }

                if (rows > 2)
                {
                    (s20, s21) = RowStep512<TColumns>(ref Unsafe.Add(ref w2, wp), Permute(weightScales23, lower), x0, scales0, x1, scales1, s20, s21);
                }

                if (rows > 3)
                {
                    (s30, s31) = RowStep512<TColumns>(ref Unsafe.Add(ref w3, wp), Permute(weightScales23, upper), x0, scales0, x1, scales1, s30, s31);
                }
            }
        }

        int tail = blocks - groups * Group;
        var minimums = HasMinimum ? MinimumSums512<TRows, TColumns>(ref w, weightStride, ref a, activationStride, groups) : default;
        y = Total512(s00, minimums[0], ref Unsafe.Add(ref w0, wo), ref Unsafe.Add(ref a0, ao), tail);
        if (columns > 1)
        {
            Unsafe.Add(ref y, outputStride) = Total512(s01, minimums[1], ref Unsafe.Add(ref w0, wo), ref Unsafe.Add(ref a1, ao), tail);
        }

        if (rows > 1)
        {
            Unsafe.Add(ref y, 1) = Total512(s10, minimums[2], ref Unsafe.Add(ref w1, wo), ref Unsafe.Add(ref a0, ao), tail);
            if (columns > 1)
            {
                Unsafe.Add(ref y, outputStride + 1) = Total512(s11, minimums[3], ref Unsafe.Add(ref w1, wo), ref Unsafe.Add(ref a1, ao), tail);
            }
        }

        if (rows > 2)
        {
            Unsafe.Add(ref y, 2) = Total512(s20, minimums[4], ref Unsafe.Add(ref w2, wo), ref Unsafe.Add(ref a0, ao), tail);
            if (columns > 1)
            {
                Unsafe.Add(ref y, outputStride + 2) = Total512(s21, minimums[5], ref Unsafe.Add(ref w2, wo), ref Unsafe.Add(ref a1, ao), tail);
            }
        }

        if (rows > 3)
        {
            Unsafe.Add(ref y, 3) = Total512(s30, minimums[6], ref Unsafe.Add(ref w3, wo), ref Unsafe.Add(ref a0, ao), tail);
            if (columns > 1)
            {
                Unsafe.Add(ref y, outputStride + 3) = Total512(s31, minimums[7], ref Unsafe.Add(ref w3, wo), ref Unsafe.Add(ref a1, ao), tail);
            }
        }
    }

    /// <summary>
    /// One step of a weight row in a tile: its pair of blocks at <paramref name="block"/>, unpacked once, against
    /// activation pair 0 and, if there is one, 1, each scaled by the row's scales times the activation row's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Sums0, Vector512<float> Sums1) RowStep512<TColumns>(
        ref byte block,
        Vector512<float> rowScales,
        Vector512<sbyte> activations0,
        Vector512<float> scales0,
        Vector512<sbyte> activations1,
        Vector512<float> scales1,
        Vector512<float> sums0,
        Vector512<float> sums1)
        where TColumns : struct, ITileExtent
    {
        var weights = TFormat.UnpackPair(ref block);
        sums0 = Accumulate512(weights, activations0, rowScales * scales0, sums0);
        if (TColumns.Value > 1)
        {
            sums1 = Accumulate512(weights, activations1, rowScales * scales1, sums1);
        }

        return (sums0, sums1);
    }

    /// <summary>
    /// The <c>m * s</c> terms of a tile's pairs over its whole <paramref name="groups"/>, summed as <see cref="Dot512"/>
    /// sums them: lane <c>2 * r + t</c> for weight row r and activation row t.
    /// </summary>
    /// <remarks>A pass of its own, since eight more accumulators would not fit in registers beside the products'.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<float> MinimumSums512<TRows, TColumns>(ref byte w, nint weightStride, ref byte a, nint activationStride, int groups)
        where TRows : struct, ITileExtent
        where TColumns : struct, ITileExtent
    {
        int rows = TRows.Value, columns = TColumns.Value;
        ref byte w1 = ref rows > 1 ? ref Unsafe.Add(ref w, weightStride) : ref w;
        ref byte w2 = ref rows > 2 ? ref Unsafe.Add(ref w, 2 * weightStride) : ref w;
        ref byte w3 = ref rows > 3 ? ref Unsafe.Add(ref w, 3 * weightStride) : ref w;
        ref byte a1 = ref columns > 1 ? ref Unsafe.Add(ref a, activationStride) : ref a;

        var weightFields = FieldGather512.Create(TFormat.BlockBytes, 2);
        var activationFields = FieldGather512.Create(ActivationBytes, 2);
        Vector256<float> m00 = default, m01 = default, m10 = default, m11 = default, m20 = default, m21 = default, m30 = default, m31 = default;
        nint wo = 0, ao = 0;
        for (int g = 0; g < groups; g++, wo += Group * TFormat.BlockBytes, ao += Group * ActivationBytes)
        {
            var (weights01, weights23, activations) = TileFields512<TRows, TColumns>(
                ref Unsafe.Add(ref w, wo), ref Unsafe.Add(ref w1, wo), ref Unsafe.Add(ref w2, wo), ref Unsafe.Add(ref w3, wo),
                ref Unsafe.Add(ref a, ao), ref Unsafe.Add(ref a1, ao), weightFields, activationFields);
            var (s0, s1) = (activations.GetLower(), activations.GetUpper());
            (m00, m01) = RowMinimums<TColumns>(weights01.GetLower(), s0, s1, m00, m01);
            if (rows > 1)
            {
                (m10, m11) = RowMinimums<TColumns>(weights01.GetUpper(), s0, s1, m10, m11);
            }

            if (rows > 2)
            {
                (m20, m21) = RowMinimums<TColumns>(weights23.GetLower(), s0, s1, m20, m21);
            }

            if (rows > 3)
            {
                (m30, m31) = RowMinimums<TColumns>(weights23.GetUpper(), s0, s1, m30, m31);
            }
        }

        return Vector256.Create(
            Vector256.Sum(m00), Vector256.Sum(m01), Vector256.Sum(m10), Vector256.Sum(m11),
            Vector256.Sum(m20), Vector256.Sum(m21), Vector256.Sum(m30), Vector256.Sum(m31));
    }

    /// <summary>
    /// The FP16 fields of one group of every row of a tile, as floats: weight rows 0 and 2 in the lower eight lanes of
    /// the first two vectors, rows 1 and 3 in their upper; activation rows 0 and 1 likewise in the third. Rows the
    /// tile lacks are not read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Weights01, Vector512<float> Weights23, Vector512<float> Activations) TileFields512<TRows, TColumns>(
        ref byte w0, ref byte w1, ref byte w2, ref byte w3, ref byte a0, ref byte a1, in FieldGather512.Fields weightFields, in FieldGather512.Fields activationFields)
        where TRows : struct, ITileExtent
        where TColumns : struct, ITileExtent
    {
        int rows = TRows.Value, columns = TColumns.Value;
        var weights01 = Halves512(
            FieldGather512.Gather(ref w0, TFormat.BlockBytes, weightFields),
            rows > 1 ? FieldGather512.Gather(ref w1, TFormat.BlockBytes, weightFields) : default);
        var weights23 = rows > 2
            ? Halves512(
                FieldGather512.Gather(ref w2, TFormat.BlockBytes, weightFields),
                rows > 3 ? FieldGather512.Gather(ref w3, TFormat.BlockBytes, weightFields) : default)
            : default;
        var activations = Halves512(
            FieldGather512.Gather(ref a0, ActivationBytes, activationFields),
            columns > 1 ? FieldGather512.Gather(ref a1, ActivationBytes, activationFields) : default);
        return (weights01, weights23, activations);
    }

    /// <summary>A group's <c>m * s</c> terms of one weight row, added to its sums with activation rows 0 and, if there is one, 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Sums0, Vector256<float> Sums1) RowMinimums<TColumns>(
        Vector256<float> minimums, Vector256<float> sums0, Vector256<float> sums1, Vector256<float> total0, Vector256<float> total1)
        where TColumns : struct, ITileExtent =>
        (total0 + minimums * sums0, TColumns.Value > 1 ? total1 + minimums * sums1 : total1);

    /// <summary>Lanes of <paramref name="values"/> picked by <paramref name="indices"/>: one <c>vpermps</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Permute(Vector512<float> values, Vector512<int> indices) =>
        Avx512F.IsSupported ? Avx512F.PermuteVar16x32(values, indices) : Vector512.Shuffle(values, indices);

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
        if (blocks < Group)
        {
            // A short row: what the general path returns (zeros added to this, which change no bit), without its calls.
            return UngroupedDot256(ref w, ref a, blocks);
        }

        int groups = blocks / Group;
        var sums = GroupSums512(ref w, ref a, groups, out float minimums);
        nint grouped = groups * Group;
        return Total512(sums, minimums, ref Unsafe.Add(ref w, grouped * TFormat.BlockBytes), ref Unsafe.Add(ref a, grouped * ActivationBytes), blocks - (int)grouped);
    }

    /// <summary>
    /// The float lanes of <see cref="Dot512"/> over its whole <paramref name="groups"/>, and the sum of their
    /// <c>m * s</c> terms (0 unless the format has minimums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> GroupSums512(ref byte w, ref byte a, int groups, out float minimumSum)
    {
        var weightScales = FieldGather512.Create(TFormat.BlockBytes, 0);
        var activationScales = FieldGather512.Create(ActivationBytes, 0);
        var weightMinimums = FieldGather512.Create(TFormat.BlockBytes, 2);
        var activationSums = FieldGather512.Create(ActivationBytes, 2);
        var sums = Vector512<float>.Zero;
        var minimums = Vector256<float>.Zero;
        for (int g = 0; g < groups; g++)
        {
            var scales = HalfProducts512(
                FieldGather512.Gather(ref w, TFormat.BlockBytes, weightScales),
                FieldGather512.Gather(ref a, ActivationBytes, activationScales)).ToVector512Unsafe();
            if (HasMinimum)
            {
                minimums += HalfProducts512(
                    FieldGather512.Gather(ref w, TFormat.BlockBytes, weightMinimums),
                    FieldGather512.Gather(ref a, ActivationBytes, activationSums));
            }

            // Unrolled, so that each pair's scale lanes are a constant shuffle.
            sums = Step512(ref w, ref a, 0, scales, sums);
            sums = Step512(ref w, ref a, 1, scales, sums);
            sums = Step512(ref w, ref a, 2, scales, sums);
            sums = Step512(ref w, ref a, 3, scales, sums);
            w = ref Unsafe.Add(ref w, Group * TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, Group * ActivationBytes);
        }

        minimumSum = HasMinimum ? Vector256.Sum(minimums) : 0;
        return sums;
    }

    /// <summary>
    /// A 512-bit dot's result: its float lanes summed, plus the sum of its <c>m * s</c> terms, plus the 256-bit dot of
    /// the <paramref name="tail"/> blocks after the last whole group at <paramref name="w"/> and <paramref name="a"/>
    /// (fewer than a group, so <see cref="Dot256"/> would hand them straight to <see cref="UngroupedDot256"/>).
    /// </summary>
    /// <remarks>
    /// The one place that orders these additions for one pair, for <see cref="Dot512"/> and the tiles alike;
    /// <see cref="Rows16"/> orders them the same for sixteen. The lanes are summed by <see cref="LaneSums"/>, whose
    /// order a batch of rows can reproduce.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Total512(Vector512<float> sums, float minimums, ref byte w, ref byte a, int tail) =>
        LaneSums.Of(sums) + minimums + (tail > 0 ? UngroupedDot256(ref w, ref a, tail) : 0);

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
        int first = 2 * pair;
        var activations = ActivationPair(ref Unsafe.Add(ref a, first * ActivationBytes));
        var weights = TFormat.UnpackPair(ref Unsafe.Add(ref w, first * TFormat.BlockBytes));
        return Accumulate512(weights, activations, Vector512.Shuffle(scales, PairLanes(pair)), sums);
    }

    /// <summary>The integer products of a pair of blocks' quants, in float, times <paramref name="scales"/>, added to <paramref name="sums"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate512(Vector512<sbyte> weights, Vector512<sbyte> activations, Vector512<float> scales, Vector512<float> sums) =>
        Vector512.MultiplyAddEstimate(Vector512.ConvertToSingle(MultiplyAdd(weights, activations)), scales, sums);

    /// <summary>The quants of the activation block at <paramref name="block"/> and of the one after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> ActivationPair(ref byte block)
    {
        ref byte quants = ref Unsafe.Add(ref block, QuantsOffset);
        return Vector256.LoadUnsafe(ref quants).ToVector512Unsafe().WithUpper(Vector256.LoadUnsafe(ref quants, (nuint)ActivationBytes)).AsSByte();
    }

    /// <summary>
    /// Indices that spread lane <c>2 * pair</c> of a group's eight scales over the first block's eight float lanes
    /// and lane <c>2 * pair + 1</c> over the second's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairLanes(int pair)
    {
        int first = 2 * pair, second = 2 * pair + 1;
        return Vector512.Create(first, first, first, first, first, first, first, first, second, second, second, second, second, second, second, second);
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
    /// <remarks>Each block's lanes are summed by <see cref="LaneSums"/>, so that <see cref="TailSums16"/> can do sixteen rows' at once.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float UngroupedDot256(ref byte w, ref byte a, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            var scale = Vector256.Create(Half(ref w, 0) * Half(ref a, 0));
            sum += LaneSums.Of(Step256(ref w, ref a, 0, scale, Vector256<float>.Zero));
            sum += HasMinimum ? Half(ref w, 2) * Half(ref a, 2) : 0;
            w = ref Unsafe.Add(ref w, TFormat.BlockBytes);
            a = ref Unsafe.Add(ref a, ActivationBytes);
        }

        return sum;
    }

    /// <summary>Products of a group's weight and activation FP16 fields: <c>d_w * d_a</c>, or <c>m * s</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfProducts512(Vector128<ushort> weights, Vector128<ushort> activations)
    {
        var values = Halves512(weights, activations);
        return values.GetLower() * values.GetUpper();
    }

    /// <summary>Two groups' gathered FP16 fields as floats, <paramref name="first"/>'s in the lower eight lanes: one conversion for sixteen.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves512(Vector128<ushort> first, Vector128<ushort> second) =>
        FloatConversions.HalfToSingle(Vector512.WidenLower(Vector256.Create(first, second).ToVector512Unsafe()));

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
    /// Gathers the 16-bit fields at one offset of a group's eight blocks, weight or activation. With AVX-512 VBMI, two
    /// two-register byte permutes (<c>vpermi2b</c>), each over a 128-byte window inside the group, replace eight inserts.
    /// </summary>
    private static class FieldGather512
    {
        /// <summary>The offset of the fields and, with VBMI, the byte indices of the two permutes.</summary>
        public readonly record struct Fields(int Offset, Vector512<byte> Low, Vector512<byte> High);

        /// <summary>The fields at <paramref name="offset"/> of blocks <paramref name="stride"/> bytes apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Fields Create(int stride, int offset) => Avx512Vbmi.IsSupported
            ? new Fields(offset, Indices(stride, offset, window: 0), Indices(stride, offset + 4 * stride, window: HighWindow(stride)))
            : new Fields(offset, default, default);

        /// <summary>The fields of the group at <paramref name="blocks"/>, <paramref name="stride"/> bytes apart as in <see cref="Create"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<ushort> Gather(ref byte blocks, int stride, in Fields fields)
        {
            if (!Avx512Vbmi.IsSupported)
            {
                return GatherHalves(ref blocks, stride, fields.Offset);
            }

            nuint high = (nuint)HighWindow(stride);
            var low = Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref blocks), fields.Low, Vector512.LoadUnsafe(ref blocks, 64));
            var upper = Avx512Vbmi.PermuteVar64x8x2(Vector512.LoadUnsafe(ref blocks, high), fields.High, Vector512.LoadUnsafe(ref blocks, high + 64));

            // Each permute leaves its four fields in the low eight bytes.
            return Sse2.UnpackLow(low.GetLower().GetLower().AsUInt64(), upper.GetLower().GetLower().AsUInt64()).AsUInt16();
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

    /// <summary>A block's FP16 field by table: it serves the tails and the scalar path, one block at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Half(ref byte block, int offset) =>
        FloatConversions.HalfToSingleByTable(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref block, offset)));
}
