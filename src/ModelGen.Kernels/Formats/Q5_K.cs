using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q5_K</c>: as <see cref="BlockQ4K"/>, with a fifth bit per quant. Weight <c>l</c> of the 64-weight
/// pair of sub-blocks <c>p</c> takes bit <c>2p</c> of <c>Qh[l % 32]</c> (<c>l</c> &lt; 32) or bit <c>2p + 1</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ5K
{
    /// <summary>Scale of the sub-block scales.</summary>
    public Half D;

    /// <summary>Scale of the sub-block mins.</summary>
    public Half DMin;

    /// <summary>Eight 6-bit scales and eight 6-bit mins (see <see cref="KQuants.PackScalesAndMins"/>).</summary>
    public Bytes12 Scales;

    /// <summary>The fifth bits of the quants.</summary>
    public Bytes32 Qh;

    /// <summary>The low four bits of the quants, laid out as <see cref="BlockQ4K.Qs"/>.</summary>
    public Bytes128 Qs;
}

/// <summary>Q5_K: 5.5 bits per weight, in super-blocks of 256.</summary>
public readonly unsafe struct Q5_K : IWeightFormat<Q8_K>, IScaleMinFormat
{
    public static GgmlType Type => GgmlType.Q5_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ5K>();

    /// <summary><c>dequantize_row_q5_K</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => ScaleMinKernels<Q5_K>.Dequantize(blocks, values);

    /// <summary><c>ggml_vec_dot_q5_K_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        ScaleMinKernels<Q5_K>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => ScaleMinKernels<Q5_K>.TryDotTile(path, tile);

    /// <summary><c>quantize_row_q5_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q5_K>(values.Length, blocks.Length, nameof(blocks));
        Span<byte> quants = stackalloc byte[KQuants.BlockSize];
        ref BlockQ5K block = ref KQuants.First<BlockQ5K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            KQuantSearch.SixBitScaledQuants(
                values.Slice(i * KQuants.BlockSize, KQuants.BlockSize), nmax: 31, rmin: -0.5f, steps: 15,
                out block.D, out block.DMin, block.Scales, quants);
            ((Span<byte>)block.Qh).Clear();
            for (int pair = 0; pair < 4; pair++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int first = quants[64 * pair + l];
                    int second = quants[64 * pair + 32 + l];
                    block.Qh[l] |= (byte)((first >> 4 << (2 * pair)) | (second >> 4 << (2 * pair + 1)));
                    block.Qs[32 * pair + l] = (byte)((first & 0xF) | ((second & 0xF) << 4));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IScaleMinFormat.Quant(ref byte block, int index)
    {
        ref BlockQ5K b = ref Unsafe.As<byte, BlockQ5K>(ref block);
        int pair = index / 64;
        int l = index % 32;
        int bit = 2 * pair + (index % 64 < 32 ? 0 : 1);
        int low = index % 64 < 32 ? b.Qs[32 * pair + l] & 0xF : b.Qs[32 * pair + l] >> 4;
        return low | ((b.Qh[l] >> bit & 1) << 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> IScaleMinFormat.Quants512(byte* block, int pair)
    {
        var q5 = (BlockQ5K*)block;
        return BitFields.Spread512((byte*)&q5->Qs + 32 * pair, first: 0, second: 4, width: 4, target: 0)
            | BitFields.Spread512((byte*)&q5->Qh, first: 2 * pair, second: 2 * pair + 1, width: 1, target: 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<byte> First, Vector256<byte> Second) IScaleMinFormat.Quants256(ref byte block, int pair)
    {
        ref BlockQ5K b = ref Unsafe.As<byte, BlockQ5K>(ref block);
        var low = Vector256.LoadUnsafe(ref b.Qs[32 * pair]);
        var high = Vector256.LoadUnsafe(ref b.Qh[0]);
        return (
            (low & Vector256.Create((byte)0xF)) | BitFields.Field(high, 2 * pair, 1, 4),
            BitFields.Field(low, 4, 4, 0) | BitFields.Field(high, 2 * pair + 1, 1, 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<byte> First, Vector128<byte> Second) IScaleMinFormat.Quants128(ref byte block, int pair, int offset)
    {
        ref BlockQ5K b = ref Unsafe.As<byte, BlockQ5K>(ref block);
        var low = Vector128.LoadUnsafe(ref b.Qs[32 * pair + offset]);
        var high = Vector128.LoadUnsafe(ref b.Qh[offset]);
        return (
            (low & Vector128.Create((byte)0xF)) | BitFields.Field(high, 2 * pair, 1, 4),
            BitFields.Field(low, 4, 4, 0) | BitFields.Field(high, 2 * pair + 1, 1, 4));
    }
}
