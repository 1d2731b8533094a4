using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q2_K</c>: sixteen sub-blocks of 16 weights, each <c>d * scale * q - dmin * min</c> with 2-bit q
/// and 4-bit scale and min. In each half of 128 weights, weight <c>32k + l</c> (<c>l</c> &lt; 32) is bits
/// <c>2k, 2k+1</c> of <c>Qs[l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ2K
{
    /// <summary>The sub-block scales (low nibbles) and mins (high nibbles).</summary>
    public Bytes16 Scales;

    /// <summary>The 2-bit quants, 32 bytes per half.</summary>
    public Bytes64 Qs;

    /// <summary>Scale of the sub-block scales.</summary>
    public Half D;

    /// <summary>Scale of the sub-block mins.</summary>
    public Half DMin;
}

/// <summary>Q2_K: 2.625 bits per weight, in super-blocks of 256.</summary>
public readonly unsafe struct Q2_K : IWeightFormat<Q8_K>, ISixteenScaleFormat
{
    public static GgmlType Type => GgmlType.Q2_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ2K>();

    /// <summary><c>dequantize_row_q2_K</c>: <c>(d * scale) * q - dmin * min</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<Q2_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ2K block = ref KQuants.First<BlockQ2K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(block.D);
            float min = FloatConversions.HalfToSingle(block.DMin);
            for (int j = 0; j < 16; j++)
            {
                float scale = d * (block.Scales[j] & 0xF);
                float offset = min * (block.Scales[j] >> 4);
                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    y[l] = scale * Quant(ref block, l) - offset;
                }
            }
        }
    }

    /// <summary><c>quantize_row_q2_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        const float FourBits = 15f;
        int count = BlockRows.Count<Q2_K>(values.Length, blocks.Length, nameof(blocks));
        Span<byte> quants = stackalloc byte[KQuants.BlockSize];
        Span<byte> scratch = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        ref BlockQ2K block = ref KQuants.First<BlockQ2K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var x = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 16; j++)
            {
                var xb = x.Slice(16 * j, 16);
                for (int l = 0; l < 16; l++)
                {
                    weights[l] = MathF.Abs(xb[l]);
                }

                scales[j] = KQuantSearch.AffineQuants(3, xb, weights, quants.Slice(16 * j, 16), scratch, out mins[j], -0.5f, 0.1f, 15, absoluteError: true);
                maxScale = scales[j] > maxScale ? scales[j] : maxScale;
                maxMin = mins[j] > maxMin ? mins[j] : maxMin;
            }

            // ggml stores nearest_int's ints as bytes, wrapping whatever does not fit.
            if (maxScale > 0)
            {
                float iscale = FourBits / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    block.Scales[j] = (byte)KQuants.NearestInt(iscale * scales[j]);
                }

                block.D = FloatConversions.SingleToHalf(maxScale / FourBits);
            }
            else
            {
                ((Span<byte>)block.Scales).Clear();
                block.D = FloatConversions.SingleToHalf(0f);
            }

            if (maxMin > 0)
            {
                float iscale = FourBits / maxMin;
                for (int j = 0; j < 16; j++)
                {
                    block.Scales[j] |= (byte)(KQuants.NearestInt(iscale * mins[j]) << 4);
                }

                block.DMin = FloatConversions.SingleToHalf(maxMin / FourBits);
            }
            else
            {
                block.DMin = FloatConversions.SingleToHalf(0f);
            }

            float superScale = FloatConversions.HalfToSingle(block.D);
            float superMin = FloatConversions.HalfToSingle(block.DMin);
            for (int j = 0; j < 16; j++)
            {
                float d = superScale * (block.Scales[j] & 0xF);
                if (d == 0)
                {
                    continue; // ggml keeps the search's quants
                }

                float dm = superMin * (block.Scales[j] >> 4);
                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    quants[l] = (byte)Math.Clamp(KQuants.NearestInt((x[l] + dm) / d), 0, 3);
                }
            }

            KQuants.PackTwoBitQuants(quants, block.Qs);
        }
    }

    /// <summary><c>ggml_vec_dot_q2_K_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        SixteenScaleKernels<Q2_K>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => SixteenScaleKernels<Q2_K>.TryDotTile(path, tile);

    static bool ISixteenScaleFormat.OffsetsScaledByD => false;

    static int ISixteenScaleFormat.OffsetShift => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ISixteenScaleFormat.D(ref byte block) => KQuants.HalfToSingle(Unsafe.As<byte, BlockQ2K>(ref block).D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ISixteenScaleFormat.OffsetScale(ref byte block) => KQuants.HalfToSingle(Unsafe.As<byte, BlockQ2K>(ref block).DMin);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> Scales, Vector128<sbyte> Offsets) ISixteenScaleFormat.Scales(ref byte block)
    {
        var packed = Vector128.LoadUnsafe(ref Unsafe.As<byte, BlockQ2K>(ref block).Scales[0]);
        return ((packed & Vector128.Create((byte)0xF)).AsSByte(), (packed >> 4).AsSByte());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int ISixteenScaleFormat.Quant(ref byte block, int index) => Quant(ref Unsafe.As<byte, BlockQ2K>(ref block), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> ISixteenScaleFormat.Quants512(byte* block, int quarter)
    {
        int k = 2 * (quarter % 2);
        return BitFields.Spread512((byte*)&((BlockQ2K*)block)->Qs + 32 * (quarter / 2), first: 2 * k, second: 2 * k + 2, width: 2, target: 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> ISixteenScaleFormat.Quants256(ref byte block, int eighth) =>
        BitFields.Field(Vector256.LoadUnsafe(ref Unsafe.As<byte, BlockQ2K>(ref block).Qs[32 * (eighth / 4)]), 2 * (eighth % 4), 2, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> ISixteenScaleFormat.Quants128(ref byte block, int sixteenth) =>
        BitFields.Field(Vector128.LoadUnsafe(ref Unsafe.As<byte, BlockQ2K>(ref block).Qs[32 * (sixteenth / 8) + 16 * (sixteenth % 2)]), sixteenth % 8 / 2 * 2, 2, 0);

    private static int Quant(ref BlockQ2K block, int index) => KQuants.TwoBitQuant(block.Qs, index);
}
