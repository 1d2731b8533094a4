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
                scales[j] = IQ4Grid.SearchScale(x.Slice(32 * j, 32), steps: 7);
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
                    int low = IQ4Grid.NearestPoint(idl * x[32 * j + k]);
                    int high = IQ4Grid.NearestPoint(idl * x[32 * j + 16 + k]);
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

        return Accumulators512.Total(first, second);
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
            var scales128 = Vector128.WidenLower(UnpackScales(ref x));
            var scales = Vector256.Create(scales128, scales128);
            ref byte qs = ref x.Qs[0];
            ref sbyte q8 = ref y.Qs[0];
            var sums = SubBlock(ref qs, ref q8, grid, scales, 0) + SubBlock(ref qs, ref q8, grid, scales, 1)
                + SubBlock(ref qs, ref q8, grid, scales, 2) + SubBlock(ref qs, ref q8, grid, scales, 3)
                + SubBlock(ref qs, ref q8, grid, scales, 4) + SubBlock(ref qs, ref q8, grid, scales, 5)
                + SubBlock(ref qs, ref q8, grid, scales, 6) + SubBlock(ref qs, ref q8, grid, scales, 7);
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
            var scales = Vector128.WidenLower(UnpackScales(ref x));
            ref byte qs = ref x.Qs[0];
            ref sbyte q8 = ref y.Qs[0];
            var sums = SubBlock(ref qs, ref q8, grid, scales, 0) + SubBlock(ref qs, ref q8, grid, scales, 1)
                + SubBlock(ref qs, ref q8, grid, scales, 2) + SubBlock(ref qs, ref q8, grid, scales, 3)
                + SubBlock(ref qs, ref q8, grid, scales, 4) + SubBlock(ref qs, ref q8, grid, scales, 5)
                + SubBlock(ref qs, ref q8, grid, scales, 6) + SubBlock(ref qs, ref q8, grid, scales, 7);
            acc = Vector128.FusedMultiplyAdd(Vector128.Create(y.D * KQuants.HalfToSingle(x.D)), Vector128.ConvertToSingle(sums), acc);
        }

        return Vector128.Sum(acc);
    }

    // The 256 and 128-bit steps, called with constant sub-block indices (written out, not looped).

    /// <summary>Sub-block <paramref name="j"/>: its 32 quants against 32 activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlock(ref byte qs, ref sbyte q8, Vector256<sbyte> grid, Vector256<short> scales, int j)
    {
        var quants = PackedQuants.Lookup(grid, PackedQuants.Nibbles(ref Unsafe.Add(ref qs, 16 * j)));
        return ScaledByteDot.MultiplyAddS8S8(quants, Vector256.LoadUnsafe(ref q8, (nuint)(32 * j)), SubBlockScales.Broadcast(scales, j));
    }

    /// <inheritdoc cref="SubBlock(ref byte, ref sbyte, Vector256{sbyte}, Vector256{short}, int)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> SubBlock(ref byte qs, ref sbyte q8, Vector128<sbyte> grid, Vector128<short> scales, int j)
    {
        var (first, second) = PackedQuants.NibbleHalves(ref Unsafe.Add(ref qs, 16 * j));
        var scale = SubBlockScales.Broadcast(scales, j);
        return ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, first), Vector128.LoadUnsafe(ref q8, (nuint)(32 * j)), scale)
            + ScaledByteDot.MultiplyAddS8S8(PackedQuants.Lookup(grid, second), Vector128.LoadUnsafe(ref q8, (nuint)(32 * j + 16)), scale);
    }
}
