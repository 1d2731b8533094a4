using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// Bit fields of packed quant bytes moved into place: the K-quants keep 2, 4 or 1-bit parts of 32 consecutive
/// weights at the same bits of 32 consecutive bytes (4-bit quants: weight <c>j</c> in the low nibble of byte
/// <c>j</c>, weight <c>32 + j</c> in its high nibble; Q6_K's top bits two at a time; Q5_K's and Q3_K's high bit).
/// </summary>
internal static class BitFields
{
    /// <summary>
    /// Bits <paramref name="first"/> to <paramref name="first"/> + <paramref name="width"/> - 1 of the 32 bytes at
    /// <paramref name="bytes"/>, then bits <paramref name="second"/> onwards of the same bytes, each moved to bit
    /// <paramref name="target"/> (64 bytes, other bits zero). The bytes must not move: pinned, or off the managed heap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<byte> Spread512(byte* bytes, int first, int second, int width, int target)
    {
        if (Gfni.V512.IsSupported)
        {
            // The 32 bytes in both halves (a broadcast load), then one affine transform over GF(2) per byte, with
            // its own bit matrix in each half: byte 7 - t of a matrix selects the source bits of result bit t.
            // vbroadcasti32x8, not Avx512F's vbroadcasti64x4: .NET 10's JIT encodes the latter's compressed
            // displacement with the wrong scale once it folds an offset into the address (it loads from base + 2 * offset).
            var both = Avx512DQ.BroadcastVector256ToVector512((int*)bytes).AsByte();
            ulong lower = Matrix(first, width, target);
            ulong upper = Matrix(second, width, target);
            return Gfni.V512.GaloisFieldAffineTransform(both, Vector512.Create(lower, lower, lower, lower, upper, upper, upper, upper).AsByte(), 0);
        }

        var source = Vector256.Load(bytes);
        return Vector512.Create(Field(source, first, width, target), Field(source, second, width, target));
    }

    /// <summary>
    /// The 64 nibbles of the 32 bytes at <paramref name="bytes"/> in the 32-element formats' order (IQ4_XS's
    /// sub-blocks): for each 16 bytes, their low nibbles then their high nibbles. The bytes must not move.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<byte> NibblePairs512(byte* bytes)
    {
        if (Gfni.V512.IsSupported)
        {
            // Each 16 bytes twice, then low nibbles in the even 128-bit lanes, high nibbles in the odd ones.
            var doubled = Avx512F.PermuteVar8x64(Vector256.Load((ulong*)bytes).ToVector512Unsafe(), Vector512.Create(0ul, 1, 0, 1, 2, 3, 2, 3));
            ulong low = Matrix(0, 4, 0);
            ulong high = Matrix(4, 4, 0);
            return Gfni.V512.GaloisFieldAffineTransform(doubled.AsByte(), Vector512.Create(low, low, high, high, low, low, high, high).AsByte(), 0);
        }

        return PackedQuants.NibblePairs(ref *bytes, 16);
    }

    /// <summary>Bits <paramref name="from"/> to <paramref name="from"/> + <paramref name="width"/> - 1 of each byte, moved to bit <paramref name="to"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Field(Vector256<byte> bytes, int from, int width, int to)
    {
        // Word shifts: the neighbouring byte's bits shifted in land outside the field's mask.
        var field = (bytes.AsUInt16() >> from).AsByte() & Vector256.Create((byte)((1 << width) - 1));
        return (field.AsUInt16() << to).AsByte();
    }

    /// <inheritdoc cref="Field(Vector256{byte}, int, int, int)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Field(Vector128<byte> bytes, int from, int width, int to)
    {
        var field = (bytes.AsUInt16() >> from).AsByte() & Vector128.Create((byte)((1 << width) - 1));
        return (field.AsUInt16() << to).AsByte();
    }

    /// <summary>
    /// The <c>vgf2p8affineqb</c> matrix that moves bits <paramref name="from"/>.. to <paramref name="to"/>..: bit
    /// <c>from + t</c> of byte <c>7 - (to + t)</c> for each t &lt; width. Those bits are 7 apart, so the matrix is
    /// the repunit 1 + 2^7 + ... + 2^(7(width-1)) = (2^(7 width) - 1) / 127 shifted into place; constant-folded
    /// for constant arguments.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Matrix(int from, int width, int to) =>
        ((1ul << (7 * width)) - 1) / 127 << (from + 63 - 8 * to - 7 * width);
}
