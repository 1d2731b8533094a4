using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// The dot step of the K-quant kernels: as <see cref="ByteDot.MultiplyAddU8S8(Vector512{byte}, Vector512{sbyte})"/>,
/// four adjacent u8*s8 products summed into each int32 lane, but with the lane then multiplied by a 16-bit scale.
/// K-quants give every 16 or 32 weights their own scale, and <c>pmaddwd</c> against the scales instead of against
/// ones applies them for free.
/// </summary>
/// <remarks>
/// <c>scales</c> holds the scale of int32 lane <c>i</c> in both of its int16 halves (the kernels build
/// it by broadcasting 16-bit scales). Callers guarantee that no pair of products leaves [-32768, 32767], so that
/// <c>pmaddubsw</c>'s saturation never happens; the products of a 6-bit quant and an int8 are at most 2*63*128.
/// </remarks>
internal static class ScaledByteDot
{
    /// <summary>Lane <c>i</c>: <c>scales[2i] * (u[4i]*s[4i] + ... + u[4i+3]*s[4i+3])</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddU8S8(Vector512<byte> u, Vector512<sbyte> s, Vector512<short> scales)
    {
        if (Avx512BW.IsSupported)
        {
            return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), scales);
        }

        return ByteDot.MultiplyAddU8S8(u, s) * (scales.AsInt32() >> 16);
    }

    /// <inheritdoc cref="MultiplyAddU8S8(Vector512{byte}, Vector512{sbyte}, Vector512{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddU8S8(Vector256<byte> u, Vector256<sbyte> s, Vector256<short> scales)
    {
        if (Avx2.IsSupported)
        {
            return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), scales);
        }

        return ByteDot.MultiplyAddU8S8(u, s) * (scales.AsInt32() >> 16);
    }

    /// <inheritdoc cref="MultiplyAddU8S8(Vector512{byte}, Vector512{sbyte}, Vector512{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddU8S8(Vector128<byte> u, Vector128<sbyte> s, Vector128<short> scales)
    {
        if (Ssse3.IsSupported)
        {
            return Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(u, s), scales);
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            return ByteDot.MultiplyAddU8S8(u, s) * (scales.AsInt32() >> 16);
        }

        return MultiplyAddU8S8Portable(u, s, scales);
    }

    /// <summary>
    /// As the u8 x s8 step, for signed <paramref name="a"/>: <c>|a| * (b with a's sign)</c>, as ggml computes it.
    /// Exact when <paramref name="b"/> holds no -128 where <paramref name="a"/> is negative; ggml's int8 quantizers
    /// produce values in [-127, 127].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddS8S8(Vector512<sbyte> a, Vector512<sbyte> b, Vector512<short> scales)
    {
        var negated = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512<sbyte>.Zero), Vector512<sbyte>.Zero - b, b);
        return MultiplyAddU8S8(Vector512.Abs(a).AsByte(), negated, scales);
    }

    /// <inheritdoc cref="MultiplyAddS8S8(Vector512{sbyte}, Vector512{sbyte}, Vector512{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddS8S8(Vector256<sbyte> a, Vector256<sbyte> b, Vector256<short> scales)
    {
        if (Avx2.IsSupported)
        {
            return MultiplyAddU8S8(Avx2.Sign(a, a).AsByte(), Avx2.Sign(b, a), scales);
        }

        return Vector256.Create(
            MultiplyAddS8S8(a.GetLower(), b.GetLower(), scales.GetLower()),
            MultiplyAddS8S8(a.GetUpper(), b.GetUpper(), scales.GetUpper()));
    }

    /// <inheritdoc cref="MultiplyAddS8S8(Vector512{sbyte}, Vector512{sbyte}, Vector512{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddS8S8(Vector128<sbyte> a, Vector128<sbyte> b, Vector128<short> scales)
    {
        if (Ssse3.IsSupported)
        {
            return MultiplyAddU8S8(Ssse3.Sign(a, a).AsByte(), Ssse3.Sign(b, a), scales);
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            return ByteDot.MultiplyAddSigned(a, b) * (scales.AsInt32() >> 16);
        }

        return MultiplyAddS8S8Portable(a, b, scales);
    }

    /// <summary>The s8 x s8 step in portable operations; tests check the hardware paths against it.</summary>
    internal static Vector128<int> MultiplyAddS8S8Portable(Vector128<sbyte> a, Vector128<sbyte> b, Vector128<short> scales)
    {
        var negated = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128<sbyte>.Zero), Vector128<sbyte>.Zero - b, b);
        return MultiplyAddU8S8Portable(Vector128.Abs(a).AsByte(), negated, scales);
    }

    /// <summary>The arithmetic every path computes, without saturation. Tests check the others against it.</summary>
    internal static Vector128<int> MultiplyAddU8S8Portable(Vector128<byte> u, Vector128<sbyte> s, Vector128<short> scales) =>
        ByteDot.MultiplyAddU8S8Portable(u, s) * (scales.AsInt32() >> 16);
}
