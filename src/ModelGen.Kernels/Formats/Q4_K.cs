using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q4_K</c>: eight sub-blocks of 32 weights, each <c>d * scale * q - dmin * min</c> with 4-bit q and
/// 6-bit scale and min. Byte <c>l</c> of each 32 quant bytes holds weight <c>l</c> of a 64-weight pair of
/// sub-blocks in its low nibble and weight <c>32 + l</c> in its high nibble.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4K
{
    /// <summary>Scale of the sub-block scales.</summary>
    public Half D;

    /// <summary>Scale of the sub-block mins.</summary>
    public Half DMin;

    /// <summary>Eight 6-bit scales and eight 6-bit mins (see <see cref="KQuants.PackScalesAndMins"/>).</summary>
    public Bytes12 Scales;

    /// <summary>The 4-bit quants.</summary>
    public Bytes128 Qs;
}

/// <summary>Q4_K: 4.5 bits per weight, in super-blocks of 256.</summary>
public readonly unsafe struct Q4_K : IWeightFormat<Q8_K>, IScaleMinFormat
{
    public static GgmlType Type => GgmlType.Q4_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ4K>();

    /// <summary><c>dequantize_row_q4_K</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => ScaleMinKernels<Q4_K>.Dequantize(blocks, values);

    /// <summary><c>ggml_vec_dot_q4_K_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        ScaleMinKernels<Q4_K>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => ScaleMinKernels<Q4_K>.TryDotTile(path, tile);

    /// <summary><c>quantize_row_q4_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q4_K>(values.Length, blocks.Length, nameof(blocks));
        Span<byte> quants = stackalloc byte[KQuants.BlockSize];
        ref BlockQ4K block = ref KQuants.First<BlockQ4K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            KQuantSearch.SixBitScaledQuants(
                values.Slice(i * KQuants.BlockSize, KQuants.BlockSize), nmax: 15, rmin: -1f, steps: 20,
                out block.D, out block.DMin, block.Scales, quants);
            for (int j = 0; j < 4; j++)
            {
                for (int l = 0; l < 32; l++)
                {
                    block.Qs[32 * j + l] = (byte)(quants[64 * j + l] | (quants[64 * j + 32 + l] << 4));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IScaleMinFormat.Quant(ref byte block, int index)
    {
        byte packed = Unsafe.As<byte, BlockQ4K>(ref block).Qs[32 * (index / 64) + index % 32];
        return index % 64 < 32 ? packed & 0xF : packed >> 4;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> IScaleMinFormat.Quants512(byte* block, int pair) =>
        BitFields.Spread512((byte*)&((BlockQ4K*)block)->Qs + 32 * pair, first: 0, second: 4, width: 4, target: 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<byte> First, Vector256<byte> Second) IScaleMinFormat.Quants256(ref byte block, int pair)
    {
        var bytes = Vector256.LoadUnsafe(ref Unsafe.As<byte, BlockQ4K>(ref block).Qs[32 * pair]);
        return (bytes & Vector256.Create((byte)0xF), BitFields.Field(bytes, 4, 4, 0));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<byte> First, Vector128<byte> Second) IScaleMinFormat.Quants128(ref byte block, int pair, int offset)
    {
        var bytes = Vector128.LoadUnsafe(ref Unsafe.As<byte, BlockQ4K>(ref block).Qs[32 * pair + offset]);
        return (bytes & Vector128.Create((byte)0xF), BitFields.Field(bytes, 4, 4, 0));
    }
}
