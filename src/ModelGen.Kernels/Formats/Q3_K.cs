using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q3_K</c>: sixteen sub-blocks of 16 weights, each <c>d * scale * q</c> with 3-bit q in [-4, 3] and
/// 6-bit signed scale. Quant <c>i</c> is stored as <c>q + 4</c>: its low two bits as in <see cref="BlockQ2K.Qs"/>,
/// its high bit in bit <c>i / 32</c> of <c>HMask[i % 32]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ3K
{
    /// <summary>The high bits of the stored quants.</summary>
    public Bytes32 HMask;

    /// <summary>The low two bits of the stored quants, 32 bytes per half.</summary>
    public Bytes64 Qs;

    /// <summary>The sixteen scales plus 32, 6 bits each: low nibbles in bytes 0-7 (scales 0-7, then 8-15 in the high nibbles), top two bits in bytes 8-11.</summary>
    public Bytes12 Scales;

    /// <summary>The super-block scale.</summary>
    public Half D;
}

/// <summary>Q3_K: 3.4375 bits per weight, in super-blocks of 256.</summary>
public readonly unsafe struct Q3_K : IWeightFormat<Q8_K>, ISixteenScaleFormat
{
    public static GgmlType Type => GgmlType.Q3_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ3K>();

    /// <summary><c>dequantize_row_q3_K</c>: <c>(d * scale) * q</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<Q3_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ3K block = ref KQuants.First<BlockQ3K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(block.D);
            var scales = UnpackScales(block.Scales);
            for (int j = 0; j < 16; j++)
            {
                float scale = d * scales.GetElement(j);
                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    y[l] = scale * (Quant(ref block, l) - 4);
                }
            }
        }
    }

    /// <summary><c>quantize_row_q3_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q3_K>(values.Length, blocks.Length, nameof(blocks));
        Span<sbyte> quants = stackalloc sbyte[KQuants.BlockSize];
        Span<float> scales = stackalloc float[16];
        ref BlockQ3K block = ref KQuants.First<BlockQ3K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var x = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int j = 0; j < 16; j++)
            {
                scales[j] = KQuantSearch.Q3Quants(4, x.Slice(16 * j, 16), quants.Slice(16 * j, 16));
                if (MathF.Abs(scales[j]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }

            ((Span<byte>)block.Scales).Clear();
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    int l = Math.Clamp((int)(sbyte)KQuants.NearestInt(iscale * scales[j]), -32, 31) + 32; // ggml truncates to int8_t first
                    block.Scales[j % 8] |= (byte)((l & 0xF) << (4 * (j / 8)));
                    block.Scales[8 + j % 4] |= (byte)((l >> 4) << (2 * (j / 4)));
                }

                block.D = FloatConversions.SingleToHalf(1 / iscale);
            }
            else
            {
                block.D = FloatConversions.SingleToHalf(0f);
            }

            float superScale = FloatConversions.HalfToSingle(block.D);
            var sixBitScales = UnpackScales(block.Scales);
            for (int j = 0; j < 16; j++)
            {
                float d = superScale * sixBitScales.GetElement(j);
                if (d == 0)
                {
                    continue; // ggml keeps the search's quants
                }

                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    quants[l] = (sbyte)(Math.Clamp(KQuants.NearestInt(x[l] / d), -4, 3) + 4);
                }
            }

            ((Span<byte>)block.HMask).Clear();
            for (int l = 0; l < KQuants.BlockSize; l++)
            {
                if (quants[l] > 3)
                {
                    block.HMask[l % 32] |= (byte)(1 << (l / 32));
                    quants[l] -= 4;
                }
            }

            KQuants.PackTwoBitQuants(MemoryMarshal.AsBytes(quants), block.Qs);
        }
    }

    /// <summary><c>ggml_vec_dot_q3_K_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        SixteenScaleKernels<Q3_K>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => SixteenScaleKernels<Q3_K>.TryDotTile(path, tile);

    // Stored quants are q + 4, in [0, 7]: offsets are 4 * scale.

    static bool ISixteenScaleFormat.OffsetsScaledByD => true;

    static int ISixteenScaleFormat.OffsetShift => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ISixteenScaleFormat.D(ref byte block) => KQuants.HalfToSingle(Unsafe.As<byte, BlockQ3K>(ref block).D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float ISixteenScaleFormat.OffsetScale(ref byte block) => KQuants.HalfToSingle(Unsafe.As<byte, BlockQ3K>(ref block).D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> Scales, Vector128<sbyte> Offsets) ISixteenScaleFormat.Scales(ref byte block)
    {
        var scales = UnpackScales(Unsafe.As<byte, BlockQ3K>(ref block).Scales);
        return (scales, scales);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int ISixteenScaleFormat.Quant(ref byte block, int index) => Quant(ref Unsafe.As<byte, BlockQ3K>(ref block), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> ISixteenScaleFormat.Quants512(byte* block, int quarter)
    {
        var x = (BlockQ3K*)block;
        int k = 2 * (quarter % 2);
        int bit = 4 * (quarter / 2) + k;
        return BitFields.Spread512((byte*)&x->Qs + 32 * (quarter / 2), first: 2 * k, second: 2 * k + 2, width: 2, target: 0)
            | BitFields.Spread512((byte*)&x->HMask, first: bit, second: bit + 1, width: 1, target: 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> ISixteenScaleFormat.Quants256(ref byte block, int eighth)
    {
        ref BlockQ3K x = ref Unsafe.As<byte, BlockQ3K>(ref block);
        var low = BitFields.Field(Vector256.LoadUnsafe(ref x.Qs[32 * (eighth / 4)]), 2 * (eighth % 4), 2, 0);
        return low | BitFields.Field(Vector256.LoadUnsafe(ref x.HMask[0]), eighth, 1, 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> ISixteenScaleFormat.Quants128(ref byte block, int sixteenth)
    {
        ref BlockQ3K x = ref Unsafe.As<byte, BlockQ3K>(ref block);
        int offset = 16 * (sixteenth % 2);
        var low = BitFields.Field(Vector128.LoadUnsafe(ref x.Qs[32 * (sixteenth / 8) + offset]), sixteenth % 8 / 2 * 2, 2, 0);
        return low | BitFields.Field(Vector128.LoadUnsafe(ref x.HMask[offset]), sixteenth / 2, 1, 2);
    }

    /// <summary>Stored quant <paramref name="index"/> (0 to 255), q + 4 in [0, 7].</summary>
    private static int Quant(ref BlockQ3K block, int index) =>
        KQuants.TwoBitQuant(block.Qs, index) | ((block.HMask[index % 32] >> (index / 32) & 1) << 2);

    /// <summary>The sixteen 6-bit scales, less 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> UnpackScales(ReadOnlySpan<byte> packed)
    {
        const uint Low4 = 0x0F0F0F0F;
        const uint Low2 = 0x03030303;
        uint first = MemoryMarshal.Read<uint>(packed);
        uint second = MemoryMarshal.Read<uint>(packed[4..]);
        uint high = MemoryMarshal.Read<uint>(packed[8..]);
        uint scales0 = (first & Low4) | ((high & Low2) << 4);
        uint scales4 = (second & Low4) | ((high >> 2 & Low2) << 4);
        uint scales8 = (first >> 4 & Low4) | ((high >> 4 & Low2) << 4);
        uint scales12 = (second >> 4 & Low4) | ((high >> 6 & Low2) << 4);
        var scales = Vector128.Create(scales0 | ((ulong)scales4 << 32), scales8 | ((ulong)scales12 << 32)).AsSByte();
        return scales - Vector128.Create((sbyte)32);
    }
}
