using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q6_K</c>: sixteen sub-blocks of 16 weights, each <c>d * scale * (q - 32)</c> with 6-bit q and
/// 8-bit signed scale. In each half of 128 weights, weight <c>32k + l</c> (<c>l</c> &lt; 32) has its low four bits
/// in <c>Ql[l + 32 (k % 2)]</c> (low nibble for k &lt; 2, else high) and its top two in bits <c>2k, 2k+1</c> of <c>Qh[l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ6K
{
    /// <summary>The low four bits of the quants, 64 bytes per half.</summary>
    public Bytes128 Ql;

    /// <summary>The top two bits of the quants, 32 bytes per half.</summary>
    public Bytes64 Qh;

    /// <summary>The sub-block scales.</summary>
    public SBytes16 Scales;

    /// <summary>The super-block scale.</summary>
    public Half D;
}

/// <summary>Q6_K: 6.5625 bits per weight, in super-blocks of 256.</summary>
public readonly unsafe struct Q6_K : IWeightFormat<Q8_K>, ISixteenScaleFormat
{
    public static GgmlType Type => GgmlType.Q6_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ6K>();

    /// <summary><c>dequantize_row_q6_K</c>: <c>(d * scale) * (q - 32)</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<Q6_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ6K block = ref KQuants.First<BlockQ6K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(block.D);
            for (int l = 0; l < y.Length; l++)
            {
                y[l] = d * block.Scales[l / 16] * (Quant(ref block, l) - 32);
            }
        }
    }

    /// <summary><c>quantize_row_q6_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q6_K>(values.Length, blocks.Length, nameof(blocks));
        Span<sbyte> quants = stackalloc sbyte[KQuants.BlockSize];
        Span<float> scales = stackalloc float[KQuants.BlockSize / 16];
        ref BlockQ6K block = ref KQuants.First<BlockQ6K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var x = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int j = 0; j < scales.Length; j++)
            {
                scales[j] = KQuantSearch.SymmetricQuants(32, x.Slice(16 * j, 16), quants.Slice(16 * j, 16));
                if (MathF.Abs(scales[j]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }

            if (maxAbsScale < KQuants.GroupMaxEps)
            {
                block = default;
                continue;
            }

            float iscale = -128f / maxScale;
            block.D = FloatConversions.SingleToHalf(1 / iscale);
            for (int j = 0; j < scales.Length; j++)
            {
                block.Scales[j] = (sbyte)Math.Min(127, KQuants.NearestInt(iscale * scales[j]));
            }

            float superScale = FloatConversions.HalfToSingle(block.D);
            for (int j = 0; j < scales.Length; j++)
            {
                float d = superScale * block.Scales[j];
                if (d == 0)
                {
                    continue; // ggml keeps the search's quants
                }

                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    quants[l] = (sbyte)(Math.Clamp(KQuants.NearestInt(x[l] / d), -32, 31) + 32);
                }
            }

            for (int half = 0; half < 2; half++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int q0 = quants[128 * half + l];
                    int q1 = quants[128 * half + 32 + l];
                    int q2 = quants[128 * half + 64 + l];
                    int q3 = quants[128 * half + 96 + l];
                    block.Ql[64 * half + l] = (byte)((q0 & 0xF) | ((q2 & 0xF) << 4));
                    block.Ql[64 * half + 32 + l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                    block.Qh[32 * half + l] = (byte)((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
                }
            }
        }
    }

    /// <summary><c>ggml_vec_dot_q6_K_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        SixteenScaleKernels<Q6_K>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => SixteenScaleKernels<Q6_K>.TryDotTile(path, tile);

    // Stored quants are q + 32, in [0, 63]: offsets are 32 * scale.

    static bool ISixteenScaleFormat.OffsetsScaledByD => true;

    static int ISixteenScaleFormat.OffsetShift => 5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ISixteenScaleFormat.D(ref byte block) => KQuants.HalfToSingle(Unsafe.As<byte, BlockQ6K>(ref block).D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ISixteenScaleFormat.OffsetScale(ref byte block) => KQuants.HalfToSingle(Unsafe.As<byte, BlockQ6K>(ref block).D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> Scales, Vector128<sbyte> Offsets) ISixteenScaleFormat.Scales(ref byte block)
    {
        var scales = Vector128.LoadUnsafe(ref Unsafe.As<byte, BlockQ6K>(ref block).Scales[0]);
        return (scales, scales);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int ISixteenScaleFormat.Quant(ref byte block, int index) => Quant(ref Unsafe.As<byte, BlockQ6K>(ref block), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> ISixteenScaleFormat.Quants512(byte* block, int quarter)
    {
        // Quarters 2h and 2h + 1: the low and high nibbles of the half's 64 low bytes, top bits 0-3 and 4-7.
        var x = (BlockQ6K*)block;
        var low = Vector512.Load((byte*)&x->Ql + 64 * (quarter / 2));
        byte* qh = (byte*)&x->Qh + 32 * (quarter / 2);
        int nibble = 4 * (quarter % 2);
        var top = BitFields.Spread512(qh, first: nibble, second: nibble + 2, width: 2, target: 4);
        return Vector512.ConditionalSelect(Vector512.Create((byte)0x0F), (low.AsUInt16() >> nibble).AsByte(), top);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> ISixteenScaleFormat.Quants256(ref byte block, int eighth)
    {
        ref BlockQ6K x = ref Unsafe.As<byte, BlockQ6K>(ref block);
        int half = eighth / 4;
        int k = eighth % 4;
        var low = Vector256.LoadUnsafe(ref x.Ql[64 * half + 32 * (k % 2)]);
        var top = BitFields.Field(Vector256.LoadUnsafe(ref x.Qh[32 * half]), 2 * k, 2, 4);
        return Vector256.ConditionalSelect(Vector256.Create((byte)0x0F), (low.AsUInt16() >> (4 * (k / 2))).AsByte(), top);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> ISixteenScaleFormat.Quants128(ref byte block, int sixteenth)
    {
        ref BlockQ6K x = ref Unsafe.As<byte, BlockQ6K>(ref block);
        int half = sixteenth / 8;
        int k = sixteenth % 8 / 2;
        int offset = 16 * (sixteenth % 2);
        var low = Vector128.LoadUnsafe(ref x.Ql[64 * half + 32 * (k % 2) + offset]);
        var top = BitFields.Field(Vector128.LoadUnsafe(ref x.Qh[32 * half + offset]), 2 * k, 2, 4);
        return Vector128.ConditionalSelect(Vector128.Create((byte)0x0F), (low.AsUInt16() >> (4 * (k / 2))).AsByte(), top);
    }

    /// <summary>Stored quant <paramref name="index"/> (0 to 255), q + 32 in [0, 63].</summary>
    private static int Quant(ref BlockQ6K block, int index)
    {
        int half = index / 128;
        int k = index % 128 / 32;
        int l = index % 32;
        int packed = block.Ql[64 * half + 32 * (k % 2) + l];
        int low = k < 2 ? packed & 0xF : packed >> 4;
        return low | ((block.Qh[32 * half + l] >> (2 * k) & 3) << 4);
    }
}
