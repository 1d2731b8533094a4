using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// Unpacking of the bit fields 32-element ggml blocks store: 4-bit quants two to a byte (element <c>j</c> in the
/// low nibble of byte <c>j</c>, element <c>j + 16</c> in the high nibble), a fifth bit per element in a 32-bit
/// word (bit <c>j</c> for element <c>j</c>), and 16-entry lookup tables indexed by nibbles.
/// </summary>
internal static class PackedQuants
{
    /// <summary>Each byte all ones except bit <c>k</c>, for byte <c>k</c> of every eight: see <see cref="SpreadBits"/>.</summary>
    private const ulong AllButOneBit = 0x7FBF_DFEF_F7FB_FDFE;

    /// <summary>The 32 nibbles at <paramref name="packed"/> as bytes 0 to 15, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(ref byte packed)
    {
        var bytes = Vector128.LoadUnsafe(ref packed);
        return Vector256.Create(bytes, (bytes.AsUInt16() >> 4).AsByte()) & Vector256.Create((byte)0x0F);
    }

    /// <summary>The 32 nibbles at <paramref name="packed"/> as elements 0 to 15 and 16 to 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> First, Vector128<byte> Second) NibbleHalves(ref byte packed)
    {
        var bytes = Vector128.LoadUnsafe(ref packed);
        var mask = Vector128.Create((byte)0x0F);

        // arm64 shifts bytes (ushr .16b), which x86 emulates with a word shift and a mask.
        return (bytes & mask, AdvSimd.IsSupported ? AdvSimd.ShiftRightLogical(bytes, 4) : (bytes.AsUInt16() >> 4).AsByte() & mask);
    }

    /// <summary>
    /// The nibbles of two blocks, <paramref name="stride"/> bytes apart, in element order: block one's elements
    /// 0 to 31, then block two's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> NibblePairs(ref byte packed, int stride)
    {
        var both = Vector128.LoadUnsafe(ref packed).ToVector256Unsafe().WithUpper(Vector128.LoadUnsafe(ref packed, (nuint)stride));
        var nibbles = both.ToVector512Unsafe().WithUpper((both.AsUInt16() >> 4).AsByte()) & Vector512.Create((byte)0x0F);

        // Low nibbles of both blocks, then high nibbles of both: swap the middle 128-bit lanes.
        return Avx512F.IsSupported
            ? Avx512F.Shuffle4x128(nibbles.AsUInt64(), nibbles.AsUInt64(), 0b11_01_10_00).AsByte()
            : Vector512.Shuffle(nibbles.AsUInt64(), Vector512.Create(0UL, 1, 4, 5, 2, 3, 6, 7)).AsByte();
    }

    /// <summary>Byte <c>j</c> all ones where bit <c>j</c> of <paramref name="bits"/> is set, else zero.</summary>
    /// <remarks>
    /// Every byte of each group of eight takes the byte of <paramref name="bits"/> holding its bit; OR-ing on all
    /// other bits leaves all ones exactly where that bit is set.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> SpreadBits(uint bits)
    {
        // Indices within each 128-bit lane (bits is broadcast to both), so the shuffle is a single vpshufb.
        var owner = Vector256.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var broadcast = Vector256.Create(bits).AsByte();
        var spread = Avx2.IsSupported ? Avx2.Shuffle(broadcast, owner) : Vector256.Shuffle(broadcast, owner);
        return Vector256.Equals(spread | Vector256.Create(AllButOneBit).AsByte(), Vector256<byte>.AllBitsSet);
    }

    /// <summary><see cref="SpreadBits"/> for two blocks: bits 0 to 31 of <paramref name="bits"/>, then bits 32 to 63.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> SpreadBitPairs(ulong bits)
    {
        var owner = Vector512.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
            4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5,
            6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
        var broadcast = Vector512.Create(bits).AsByte();

        // Within each 128-bit lane (bits is broadcast to all four), so vpshufb does it; the portable shuffle reads the same bytes from lane 0.
        var spread = Avx512BW.IsSupported ? Avx512BW.Shuffle(broadcast, owner) : Vector512.Shuffle(broadcast, owner);
        return Vector512.Equals(spread | Vector512.Create(AllButOneBit).AsByte(), Vector512<byte>.AllBitsSet);
    }

    /// <summary><c>table[index]</c> per byte, for a 16-entry table (repeated in each 128-bit lane) and indices 0 to 15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Lookup(Vector512<sbyte> table, Vector512<byte> indices) =>
        Avx512BW.IsSupported ? Avx512BW.Shuffle(table, indices.AsSByte()) : Vector512.Shuffle(table, indices.AsSByte());

    /// <summary><see cref="SpreadBits"/> as elements 0 to 15 and 16 to 31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> First, Vector128<byte> Second) SpreadBitHalves(uint bits)
    {
        var broadcast = Vector128.Create(bits).AsByte();
        var first = Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        var second = Vector128.Create((byte)2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var allButOne = Vector128.Create(AllButOneBit).AsByte();
        return (
            Vector128.Equals(Shuffle(broadcast, first) | allButOne, Vector128<byte>.AllBitsSet),
            Vector128.Equals(Shuffle(broadcast, second) | allButOne, Vector128<byte>.AllBitsSet));
    }

    /// <summary><c>table[index]</c> per byte, for a 16-entry table (repeated in each 128-bit lane) and indices 0 to 15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Lookup(Vector256<sbyte> table, Vector256<byte> indices) =>
        Avx2.IsSupported ? Avx2.Shuffle(table, indices.AsSByte()) : Vector256.Shuffle(table, indices.AsSByte());

    /// <inheritdoc cref="Lookup(Vector256{sbyte}, Vector256{byte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Lookup(Vector128<sbyte> table, Vector128<byte> indices) =>
        Shuffle(table.AsByte(), indices).AsSByte();

    /// <summary>A byte shuffle within 16 bytes, indices 0 to 15: <c>pshufb</c> or <c>tbl</c> where there is one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> Shuffle(Vector128<byte> bytes, Vector128<byte> indices) =>
        Ssse3.IsSupported ? Ssse3.Shuffle(bytes, indices) :
        AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.VectorTableLookup(bytes, indices) :
        Vector128.Shuffle(bytes, indices);

    /// <summary>One 5-bit quant of Q5_0/Q5_1: its nibble from <paramref name="packed"/>, its fifth bit from <paramref name="high"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FiveBitQuant(ref byte packed, uint high, int index) =>
        ((Unsafe.Add(ref packed, index & 15) >> (index >> 4 << 2)) & 0xF) | (int)((high >> index) & 1) << 4;

    /// <summary>The 32 5-bit quants of a Q5_0/Q5_1 block: nibbles with the fifth bits of <paramref name="high"/> on top.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> FiveBits(ref byte packed, uint high) =>
        Nibbles(ref packed) | (SpreadBits(high) & Vector256.Create((byte)0x10));

    /// <summary><see cref="FiveBits"/> as two 16-quant halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> First, Vector128<byte> Second) FiveBitHalves(ref byte packed, uint high)
    {
        var (first, second) = NibbleHalves(ref packed);
        var (firstBits, secondBits) = SpreadBitHalves(high);
        var fifth = Vector128.Create((byte)0x10);
        return (first | (firstBits & fifth), second | (secondBits & fifth));
    }

    /// <summary><see cref="FiveBits"/> of two consecutive blocks <paramref name="stride"/> bytes apart; <paramref name="highs"/> holds both blocks' bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> FiveBitPairs(ref byte packed, int stride, ulong highs) =>
        NibblePairs(ref packed, stride) | FifthBitPairs(highs);

    /// <summary>0x10 in byte j where bit j of <paramref name="bits"/> is set, 0 elsewhere.</summary>
    /// <remarks>
    /// With VBMI one <c>vpmultishiftqb</c> does it: byte j takes the eight bits of the (broadcast) word that start,
    /// rotating, at bit j - 4, so its bit 4 is bit j. That is three instructions where spreading the bits is six.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> FifthBitPairs(ulong bits)
    {
        var fifth = Vector512.Create((byte)0x10);
        return Avx512Vbmi.IsSupported
            ? Avx512Vbmi.MultiShift(Vector512<byte>.Indices - Vector512.Create((byte)4), Vector512.Create(bits)) & fifth
            : SpreadBitPairs(bits) & fifth;
    }
}
