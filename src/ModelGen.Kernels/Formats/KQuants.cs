using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// What the K-quant formats (Q2_K to Q8_K, IQ4_XS) share: the super-block size, ggml's rounding, the packing of
/// Q4_K/Q5_K's 6-bit scales and of Q2_K/Q3_K's 2-bit quants, a fast FP16 conversion for scales.
/// </summary>
internal static class KQuants
{
    /// <summary>Elements per super-block (ggml's <c>QK_K</c>).</summary>
    public const int BlockSize = 256;

    /// <summary>ggml's <c>GROUP_MAX_EPS</c>: a group whose largest magnitude is below it quantizes to zeros.</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>The first block of a row; the kernels step with <see cref="Unsafe.Add{T}(ref T, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TBlock First<TBlock>(ReadOnlySpan<byte> blocks)
        where TBlock : unmanaged =>
        ref Unsafe.As<byte, TBlock>(ref MemoryMarshal.GetReference(blocks));

    /// <inheritdoc cref="First{TBlock}(ReadOnlySpan{byte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref TBlock First<TBlock>(Span<byte> blocks)
        where TBlock : unmanaged =>
        ref Unsafe.As<byte, TBlock>(ref MemoryMarshal.GetReference(blocks));

    /// <summary>
    /// ggml's <c>nearest_int</c>: adding 1.5 * 2^23 leaves the value rounded (to nearest even) in the low mantissa
    /// bits. Exact for |value| &lt;= 2^22; beyond that it returns what ggml returns, so later clamps agree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float value) =>
        (BitConverter.SingleToInt32Bits(value + 12582912f) & 0x007FFFFF) - 0x00400000;

    /// <summary>
    /// Packs eight 6-bit scales and eight 6-bit mins into Q4_K/Q5_K's 12 bytes: bytes 0-3 hold scales 0-3 and bytes
    /// 4-7 mins 0-3 in their low six bits; bytes 8-11 hold the low nibbles of scales 4-7 and mins 4-7, whose top two
    /// bits go into the spare top bits of bytes 0-3 and 4-7.
    /// </summary>
    public static void PackScalesAndMins(ReadOnlySpan<byte> scales, ReadOnlySpan<byte> mins, Span<byte> packed)
    {
        for (int j = 0; j < 4; j++)
        {
            packed[j] = (byte)(scales[j] | (scales[j + 4] >> 4 << 6));
            packed[j + 4] = (byte)(mins[j] | (mins[j + 4] >> 4 << 6));
            packed[j + 8] = (byte)((scales[j + 4] & 0xF) | ((mins[j + 4] & 0xF) << 4));
        }
    }

    /// <summary>
    /// The eight scales and eight mins of <see cref="PackScalesAndMins"/>, one per byte of <paramref name="scales"/>
    /// and <paramref name="mins"/> (little-endian: sub-block <c>j</c> in bits <c>8j</c> to <c>8j+7</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void UnpackScalesAndMins(ref byte packed, out ulong scales, out ulong mins)
    {
        const uint Low6 = 0x3F3F3F3F;
        const uint Low4 = 0x0F0F0F0F;
        const uint Low2 = 0x03030303;
        uint first = Unsafe.ReadUnaligned<uint>(ref packed);
        uint second = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref packed, 4));
        uint third = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref packed, 8));
        uint highScales = (third & Low4) | ((first >> 6 & Low2) << 4);
        uint highMins = (third >> 4 & Low4) | ((second >> 6 & Low2) << 4);
        scales = (first & Low6) | ((ulong)highScales << 32);
        mins = (second & Low6) | ((ulong)highMins << 32);
    }

    /// <summary>
    /// Q2_K's and Q3_K's 2-bit fields: in each half of 128 quants, quant <c>32k + l</c> (<c>l</c> &lt; 32) in bits
    /// <c>2k, 2k+1</c> of byte <c>l</c> of the half's 32 bytes.
    /// </summary>
    public static void PackTwoBitQuants(ReadOnlySpan<byte> quants, Span<byte> packed)
    {
        for (int half = 0; half < 2; half++)
        {
            for (int l = 0; l < 32; l++)
            {
                var q = quants.Slice(128 * half + l);
                packed[32 * half + l] = (byte)(q[0] | (q[32] << 2) | (q[64] << 4) | (q[96] << 6));
            }
        }
    }

    /// <summary>Quant <paramref name="index"/> of <see cref="PackTwoBitQuants"/>.</summary>
    public static int TwoBitQuant(ReadOnlySpan<byte> packed, int index) =>
        packed[32 * (index / 128) + index % 32] >> (2 * (index % 128 / 32)) & 3;

    /// <summary>
    /// <see cref="FloatConversions.HalfToSingle(Half)"/> with a fast path for normal halves (every scale but
    /// zero, in practice): rebias the exponent and shift, in a few integer operations. The kernels convert one or
    /// two scales per super-block, and the vector units are busy with the quants.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToSingle(Half value)
    {
        uint bits = BitConverter.HalfToUInt16Bits(value);
        uint exponent = bits & 0x7C00;
        if (exponent - 0x0400 < 0x7800)
        {
            return BitConverter.UInt32BitsToSingle(((bits & 0x8000) << 16) | (((bits & 0x7FFF) << 13) + ((127 - 15) << 23)));
        }

        return FloatConversions.HalfToSingle(value);
    }
}
