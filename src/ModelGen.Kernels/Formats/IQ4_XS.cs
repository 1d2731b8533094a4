using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_iq4_xs</c>: eight sub-blocks of 32 weights, each <c>d * (scale - 32) * Values[q]</c> with 4-bit
/// q indexing <see cref="IQ4_NL.Values"/> and a 6-bit scale. Sub-block <c>j</c> keeps its quants as an IQ4_NL block
/// does, in <c>Qs[16j..16j+15]</c>; its scale's low nibble in nibble <c>j</c> of <c>ScalesL</c>, its top two bits
/// in bits <c>2j, 2j+1</c> of <c>ScalesH</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockIQ4XS
{
    /// <summary>The super-block scale.</summary>
    public Half D;

    /// <summary>The top two bits of the sub-block scales.</summary>
    public ushort ScalesH;

    /// <summary>The low four bits of the sub-block scales.</summary>
    public Bytes4 ScalesL;

    /// <summary>The 4-bit quants, 16 bytes per sub-block.</summary>
    public Bytes128 Qs;
}

/// <summary>IQ4_XS: 4.25 bits per weight, in super-blocks of 256, on IQ4_NL's non-linear grid.</summary>
public readonly unsafe struct IQ4_XS : IWeightFormat<Q8_K>
{
    public static GgmlType Type => GgmlType.IQ4_XS;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockIQ4XS>();

    /// <summary><c>dequantize_row_iq4_xs</c>: <c>(d * (scale - 32)) * Values[q]</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<IQ4_XS>(values.Length, blocks.Length, nameof(blocks));
        ref BlockIQ4XS block = ref KQuants.First<BlockIQ4XS>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(block.D);
            var scales = UnpackScales(ref block);
            for (int j = 0; j < 8; j++)
            {
                float scale = d * scales.GetElement(j);
                for (int l = 32 * j; l < 32 * j + 32; l++)
                {
                    y[l] = scale * IQ4_NL.Values[Quant(ref block, l)];
                }
            }
        }
    }

    /// <summary>
    /// <c>quantize_row_iq4_xs_ref</c> (<c>quantize_row_iq4_nl_impl</c> on 256 weights in sub-blocks of 32, no
    /// importance weights, scale search of ±7 steps): each sub-block's best least-squares scale, the scales rounded
    /// to 6 bits of the largest, then every weight's nearest grid point at its rounded scale.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<IQ4_XS>(values.Length, blocks.Length, nameof(blocks));
        Span<float> scales = stackalloc float[8];
        ref BlockIQ4XS block = ref KQuants.First<BlockIQ4XS>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var x = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int j = 0; j < 8; j++)
            {
                scales[j] = SubBlockScale(x.Slice(32 * j, 32));
                if (MathF.Abs(scales[j]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }

            float d = -maxScale / 32;
            block.D = FloatConversions.SingleToHalf(d);
            block.ScalesH = 0;
            float id = d != 0 ? 1 / d : 0f;
            for (int j = 0; j < 8; j++)
            {
                int l = Math.Clamp(KQuants.NearestInt(id * scales[j]), -32, 31);
                float dl = d * l;
                float idl = dl != 0 ? 1 / dl : 0f;
                for (int k = 0; k < 16; k++)
                {
                    int low = NearestGridPoint(idl * x[32 * j + k]);
                    int high = NearestGridPoint(idl * x[32 * j + 16 + k]);
                    block.Qs[16 * j + k] = (byte)(low | (high << 4));
                }

                l += 32;
                block.ScalesL[j / 2] = (byte)(j % 2 == 0 ? l & 0xF : block.ScalesL[j / 2] | ((l & 0xF) << 4));
                block.ScalesH |= (ushort)((l >> 4) << (2 * j));
            }
        }
    }

    /// <summary><c>ggml_vec_dot_iq4_xs_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        int blocks = BlockRows.Count<IQ4_XS>(count, weights.Length, nameof(weights));
        BlockRows.Count<Q8_K>(count, activations.Length, nameof(activations));
        ref BlockQ8K y = ref KQuants.First<BlockQ8K>(activations);
        if (path == SimdPath.Vector512)
        {
            fixed (byte* pinned = weights)
            {
                return Dot512((BlockIQ4XS*)pinned, ref y, blocks);
            }
        }

        ref BlockIQ4XS x = ref KQuants.First<BlockIQ4XS>(weights);
        return path switch
        {
            SimdPath.Vector256 => Dot256(ref x, ref y, blocks),
            SimdPath.Vector128 => Dot128(ref x, ref y, blocks),
            _ => DotScalar(ref x, ref y, blocks),
        };
    }

    /// <summary>
    /// The scale search of <c>quantize_row_iq4_nl_impl</c> for one 32-weight sub-block, weights x^2: the
    /// least-squares scale for the nearest grid points at <c>max / -127</c>, then at 15 scales
    /// <c>(step - 127) / max</c> around it, keeping the best fit.
    /// </summary>
    private static float SubBlockScale(ReadOnlySpan<float> x)
    {
        float max = ScalarQuantization.SignedMaximum(x);
        if (MathF.Abs(max) < KQuants.GroupMaxEps)
        {
            return 0;
        }

        var grid = IQ4_NL.Values;
        var (sumqx, sumq2) = Fit(x, 1 / (-max / grid[0]));
        float d = sumq2 > 0 ? sumqx / sumq2 : 0f;
        float best = d * sumqx;
        for (int step = -7; step <= 7; step++)
        {
            (sumqx, sumq2) = Fit(x, (step + grid[0]) / max);
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }

        return d;
    }

    /// <summary>The x^2-weighted sums of q*x and q*q for the nearest grid points q of <paramref name="id"/> * x.</summary>
    private static (float SumQX, float SumQ2) Fit(ReadOnlySpan<float> x, float id)
    {
        float sumqx = 0;
        float sumq2 = 0;
        foreach (float value in x)
        {
            float q = IQ4_NL.Values[NearestGridPoint(id * value)];
            float w = value * value;
            sumqx += w * q * value;
            sumq2 += w * q * q;
        }

        return (sumqx, sumq2);
    }

    /// <summary>ggml's <c>best_index_int8</c> on the grid: binary search, ties to the upper point.</summary>
    private static int NearestGridPoint(float x)
    {
        var grid = IQ4_NL.Values;
        if (x <= grid[0])
        {
            return 0;
        }

        if (x >= grid[^1])
        {
            return grid.Length - 1;
        }

        int lower = 0;
        int upper = grid.Length - 1;
        while (upper - lower > 1)
        {
            int middle = (lower + upper) / 2;
            if (x < grid[middle])
            {
                upper = middle;
            }
            else
            {
                lower = middle;
            }
        }

        return x - grid[upper - 1] < grid[upper] - x ? upper - 1 : upper;
    }

    /// <summary>Quant <paramref name="index"/> (0 to 255), a grid index.</summary>
    private static int Quant(ref BlockIQ4XS block, int index)
    {
        byte packed = block.Qs[16 * (index / 32) + index % 16];
        return index % 32 < 16 ? packed & 0xF : packed >> 4;
    }

    /// <summary>The eight sub-block scales, less 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> UnpackScales(ref BlockIQ4XS block)
    {
        // Nibble j of the low bits to byte j; bit pair j of the high bits to bits 4-5 of byte j.
        ulong low = Unsafe.ReadUnaligned<uint>(ref block.ScalesL[0]);
        low = (low | (low << 16)) & 0x0000FFFF_0000FFFF;
        low = (low | (low << 8)) & 0x00FF00FF_00FF00FF;
        low = (low | (low << 4)) & 0x0F0F0F0F_0F0F0F0F;
        ulong high = block.ScalesH;
        high = (high | (high << 24)) & 0x000000FF_000000FF;
        high = (high | (high << 12)) & 0x000F000F_000F000F;
        high = (high | (high << 6)) & 0x03030303_03030303;
        return Vector128.CreateScalar(low | (high << 4)).AsSByte() - Vector128.Create((sbyte)32);
    }

    private static float DotScalar(ref BlockIQ4XS x, ref BlockQ8K y, int blocks)
    {
        float sum = 0;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            var scales = UnpackScales(ref x);
            ReadOnlySpan<sbyte> q8 = y.Qs;
            int dots = 0;
            for (int j = 0; j < 8; j++)
            {
                int dot = 0;
                for (int l = 32 * j; l < 32 * j + 32; l++)
                {
                    dot += IQ4_NL.Values[Quant(ref x, l)] * q8[l];
                }

                dots += scales.GetElement(j) * dot;
            }

            sum += y.D * KQuants.HalfToSingle(x.D) * dots;
        }

        return sum;
    }

    // The vector paths look the quants up in the grid with pshufb and take products of signed bytes as ggml does,
    // |grid| * (activation with grid's sign): at most 2*127*127 per pair, which pmaddubsw holds.

    /// <remarks>Two super-blocks per iteration, into two accumulators: independent chains the core overlaps.</remarks>
    private static float Dot512(BlockIQ4XS* x, ref BlockQ8K y, int blocks)
    {
        var grid = Vector512.Create(Vector128.Create(IQ4_NL.Values));
        var spreads = new Spreads512(32);
        Accumulators512 first = default, second = default;
        int i = 0;
        for (; i + 2 <= blocks; i += 2, x += 2, y = ref Unsafe.Add(ref y, 2))
        {
            Block512(x, ref y, grid, spreads, ref first);
            Block512(x + 1, ref Unsafe.Add(ref y, 1), grid, spreads, ref second);
        }

        if (i < blocks)
        {
            Block512(x, ref y, grid, spreads, ref first);
        }

        return first.Sum() + second.Sum();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block512(BlockIQ4XS* x, ref BlockQ8K y, Vector512<sbyte> grid, in Spreads512 spreads, ref Accumulators512 acc)
    {
        var scales16 = Vector512.WidenLower(UnpackScales(ref *x).ToVector256Unsafe().ToVector512Unsafe());
        byte* qs = (byte*)&x->Qs;
        ref sbyte q8 = ref y.Qs[0];
        var sums = ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, BitFields.NibblePairs512(qs)), Vector512.LoadUnsafe(ref q8), WordShuffle.Permute(scales16, spreads.First))
            + ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, BitFields.NibblePairs512(qs + 32)), Vector512.LoadUnsafe(ref q8, 64), WordShuffle.Permute(scales16, spreads.Second))
            + ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, BitFields.NibblePairs512(qs + 64)), Vector512.LoadUnsafe(ref q8, 128), WordShuffle.Permute(scales16, spreads.Third))
            + ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, BitFields.NibblePairs512(qs + 96)), Vector512.LoadUnsafe(ref q8, 192), WordShuffle.Permute(scales16, spreads.Fourth));
        acc.Sums = Vector512.FusedMultiplyAdd(Vector512.Create(y.D * KQuants.HalfToSingle(x->D)), Vector512.ConvertToSingle(sums), acc.Sums);
    }

    private static float Dot256(ref BlockIQ4XS x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector256<float>.Zero;
        var grid = Vector256.Create(Vector128.Create(IQ4_NL.Values));
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            ulong scales = UnpackScales(ref x).AsUInt64().ToScalar();
            ref sbyte q8 = ref y.Qs[0];
            var sums = Vector256<int>.Zero;
            for (int j = 0; j < 8; j++)
            {
                var quants = PackedQuants.Lookup(grid, PackedQuants.Nibbles(ref x.Qs[16 * j]));
                sums += ScaledByteDot.MultiplyAddS8S8(quants, Vector256.LoadUnsafe(ref q8, (nuint)(32 * j)), Vector256.Create((short)(sbyte)(scales >> (8 * j))));
            }

            acc = Vector256.FusedMultiplyAdd(Vector256.Create(y.D * KQuants.HalfToSingle(x.D)), Vector256.ConvertToSingle(sums), acc);
        }

        return Vector256.Sum(acc);
    }

    private static float Dot128(ref BlockIQ4XS x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector128<float>.Zero;
        var grid = Vector128.Create(IQ4_NL.Values);
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            ulong scales = UnpackScales(ref x).AsUInt64().ToScalar();
            ref sbyte q8 = ref y.Qs[0];
            var sums = Vector128<int>.Zero;
            for (int j = 0; j < 8; j++)
            {
                var (first, second) = PackedQuants.NibbleHalves(ref x.Qs[16 * j]);
                var scale = Vector128.Create((short)(sbyte)(scales >> (8 * j)));
                sums += ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, first), Vector128.LoadUnsafe(ref q8, (nuint)(32 * j)), scale)
                    + ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, second), Vector128.LoadUnsafe(ref q8, (nuint)(32 * j + 16)), scale);
            }

            acc = Vector128.FusedMultiplyAdd(Vector128.Create(y.D * KQuants.HalfToSingle(x.D)), Vector128.ConvertToSingle(sums), acc);
        }

        return Vector128.Sum(acc);
    }
}
