using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// The K-quant nibble layout: 32 bytes hold 64 4-bit quants, element <c>j</c> in the low nibble of byte <c>j</c>
/// and element <c>32 + j</c> in its high nibble (<see cref="PackedQuants"/> has the 16-byte layout of the
/// 32-element formats).
/// </summary>
internal static class WideNibbles
{
#if NET10_0_OR_GREATER
    /// <summary>
    /// For <c>vgf2p8affineqb</c>: byte <c>7 - i</c> of a lane's matrix selects the source bits of result bit
    /// <c>i</c>. Low nibble: result bit i is source bit i (i &lt; 4); high nibble: source bit i + 4.
    /// </summary>
    private static Vector512<byte> NibbleMatrices => Vector512.Create(
        0x01020408_00000000ul, 0x01020408_00000000ul, 0x01020408_00000000ul, 0x01020408_00000000ul,
        0x10204080_00000000ul, 0x10204080_00000000ul, 0x10204080_00000000ul, 0x10204080_00000000ul).AsByte();
#endif

    /// <summary>The 64 quants of the 32 bytes at <paramref name="packed"/>, in element order.</summary>
    /// <remarks>The bytes must not move: pinned, or outside the managed heap.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<byte> Unpack512(byte* packed)
    {
#if NET10_0_OR_GREATER
        if (Gfni.V512.IsSupported)
        {
            // One affine transform over GF(2) per byte, with a bit matrix per 64-bit lane: keep the low nibble in
            // the lower 256 bits, move the high nibble down in the upper 256 bits.
            var both = Avx512F.BroadcastVector256ToVector512((ulong*)packed).AsByte();
            return Gfni.V512.GaloisFieldAffineTransform(both, NibbleMatrices, 0);
        }
#endif

        if (Avx512BW.IsSupported)
        {
            // The 32 bytes in both 256-bit lanes (a broadcast load), the upper lane's words shifted by 4, then masked.
            var both = Avx512F.BroadcastVector256ToVector512((ulong*)packed).AsUInt16();
            var shifts = Vector512.Create(0, 0, 0, 0, 0x0004_0004_0004_0004ul, 0x0004_0004_0004_0004ul, 0x0004_0004_0004_0004ul, 0x0004_0004_0004_0004ul).AsUInt16();
            return Avx512BW.ShiftRightLogicalVariable(both, shifts).AsByte() & Vector512.Create((byte)0x0F);
        }

        var bytes = Vector256.Load(packed);
        return Vector512.Create(bytes & Vector256.Create((byte)0x0F), bytes >> 4);
    }

    /// <summary>The low nibbles (elements 0 to 31) and high nibbles (elements 32 to 63) of the 32 bytes at <paramref name="packed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<byte> Low, Vector256<byte> High) Unpack256(ref byte packed)
    {
        var bytes = Vector256.LoadUnsafe(ref packed);
        return (bytes & Vector256.Create((byte)0x0F), bytes >> 4);
    }

    /// <summary>The low and high nibbles of the 16 bytes at <paramref name="packed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> Low, Vector128<byte> High) Unpack128(ref byte packed)
    {
        var bytes = Vector128.LoadUnsafe(ref packed);
        return (bytes & Vector128.Create((byte)0x0F), bytes >> 4);
    }
}
