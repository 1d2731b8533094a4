using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// Integer dot-product steps shared by the quantized kernels: groups of four adjacent byte products summed into
/// int32 lanes (what <c>vpdpbusd</c> computes). Lane <c>i</c> of the result is
/// <c>x[4i]*y[4i] + x[4i+1]*y[4i+1] + x[4i+2]*y[4i+2] + x[4i+3]*y[4i+3]</c>.
/// </summary>
/// <remarks>
/// <para>
/// Where the CPU has no VNNI, the hardware path is <c>pmaddubsw</c> (pairs of u8*s8 products summed into int16
/// with signed saturation) followed by <c>pmaddwd</c> against ones. Callers guarantee that no pair sum
/// leaves [-32768, 32767] (for example nibble weights times int8 activations: at most 2*15*128 = 3840), so
/// every path, VNNI, saturating and portable, gives the same exact result.
/// </para>
/// <para>
/// .NET exposes AVX-512 VNNI only through AVX10.1, and the 128/256-bit VEX encoding through
/// <see cref="AvxVnni"/>; CPUs that have neither (Zen 4 has AVX512_VNNI but not AVX-VNNI) take the two-instruction
/// path. The portable fallback widens to int16 and is exact for any input.
/// </para>
/// <para>
/// arm64 has no u8 x s8 product short of I8MM's <c>usdot</c>, but every caller's unsigned quants are below 128 (at
/// most 63), so there they are s8 as they stand and every step is <see cref="MultiplyAddSigned"/>: <c>sdot</c>, or
/// widening multiplies and pairwise adds on cores without dot product. Exact products, so the same integers as x86.
/// </para>
/// </remarks>
internal static class ByteDot
{
    /// <summary>Sums of four adjacent <c>u[i]*s[i]</c> products (u8 x s8) in int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddU8S8(Vector512<byte> u, Vector512<sbyte> s)
    {
        if (Avx512BW.IsSupported)
        {
            return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), Vector512<short>.One);
        }

        return Vector512.Create(
            MultiplyAddU8S8(u.GetLower(), s.GetLower()),
            MultiplyAddU8S8(u.GetUpper(), s.GetUpper()));
    }

    /// <inheritdoc cref="MultiplyAddU8S8(Vector512{byte}, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddU8S8(Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported)
        {
            return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s);
        }

        if (Avx2.IsSupported)
        {
            return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256<short>.One);
        }

        return Vector256.Create(
            MultiplyAddU8S8(u.GetLower(), s.GetLower()),
            MultiplyAddU8S8(u.GetUpper(), s.GetUpper()));
    }

    /// <inheritdoc cref="MultiplyAddU8S8(Vector512{byte}, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddU8S8(Vector128<byte> u, Vector128<sbyte> s)
    {
        if (AvxVnni.IsSupported)
        {
            return AvxVnni.MultiplyWideningAndAdd(Vector128<int>.Zero, u, s);
        }

        if (Ssse3.IsSupported)
        {
            return Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(u, s), Vector128<short>.One);
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            return MultiplyAddSigned(u.AsSByte(), s);
        }

        return MultiplyAddU8S8Portable(u, s);
    }

    /// <summary>
    /// Sums of four adjacent <c>(u[i] - center) * s[i]</c> products: unsigned quants with a zero point (Q4_0's 8,
    /// Q5_0's 16) against int8, as the difference of two u8 x s8 steps in int16, which is cheaper than the sign
    /// trick. Callers guarantee that <c>u</c> and <paramref name="center"/> are small enough (at most 63) for
    /// both pair sums to stay within int16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddCenteredU8S8(Vector512<byte> u, byte center, Vector512<sbyte> s)
    {
        if (Avx512BW.IsSupported)
        {
            var centered = Avx512BW.MultiplyAddAdjacent(u, s) - Avx512BW.MultiplyAddAdjacent(Vector512.Create(center), s);
            return Avx512BW.MultiplyAddAdjacent(centered, Vector512<short>.One);
        }

        return MultiplyAddU8S8(u, s) - MultiplyAddU8S8(Vector512.Create(center), s);
    }

    /// <summary>
    /// The part of <see cref="MultiplyAddCenteredU8S8(Vector512{byte}, byte, Vector512{sbyte})"/> that depends on
    /// <paramref name="s"/> alone: sums of two adjacent <c>center * s[i]</c> products in int16 lanes. Computed once
    /// for an activation row that many weight rows share, it is subtracted by <see cref="MultiplyAddU8S8Less"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> CenterProducts(byte center, Vector512<sbyte> s) =>
        Avx512BW.IsSupported ? Avx512BW.MultiplyAddAdjacent(Vector512.Create(center), s) : CenterProductsPortable(center, s);

    /// <summary><see cref="CenterProducts"/> without AVX-512BW: widen, add pairs, narrow (the sums fit), scale.</summary>
    internal static Vector512<short> CenterProductsPortable(byte center, Vector512<sbyte> s)
    {
        var (lower, upper) = Vector512.Widen(s);
        return Vector512.Narrow(SumAdjacentPairs(lower), SumAdjacentPairs(upper)) * center;
    }

    /// <summary>
    /// <see cref="MultiplyAddCenteredU8S8(Vector512{byte}, byte, Vector512{sbyte})"/> with its center products
    /// <paramref name="centerProducts"/> (from <see cref="CenterProducts"/>) computed beforehand: the same exact sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddU8S8Less(Vector512<byte> u, Vector512<sbyte> s, Vector512<short> centerProducts) =>
        Avx512BW.IsSupported
            ? Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s) - centerProducts, Vector512<short>.One)
            : MultiplyAddU8S8(u, s) - SumAdjacentPairs(centerProducts);

    /// <inheritdoc cref="MultiplyAddCenteredU8S8(Vector512{byte}, byte, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddCenteredU8S8(Vector256<byte> u, byte center, Vector256<sbyte> s)
    {
        if (Avx2.IsSupported && !AvxVnni.IsSupported)
        {
            var centered = Avx2.MultiplyAddAdjacent(u, s) - Avx2.MultiplyAddAdjacent(Vector256.Create(center), s);
            return Avx2.MultiplyAddAdjacent(centered, Vector256<short>.One);
        }

        return MultiplyAddU8S8(u, s) - MultiplyAddU8S8(Vector256.Create(center), s);
    }

    /// <inheritdoc cref="MultiplyAddCenteredU8S8(Vector512{byte}, byte, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddCenteredU8S8(Vector128<byte> u, byte center, Vector128<sbyte> s)
    {
        if (Ssse3.IsSupported && !AvxVnni.IsSupported)
        {
            var centered = Ssse3.MultiplyAddAdjacent(u, s) - Ssse3.MultiplyAddAdjacent(Vector128.Create(center), s);
            return Sse2.MultiplyAddAdjacent(centered, Vector128<short>.One);
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            // Both at most 63: the difference is an s8.
            return MultiplyAddSigned((u - Vector128.Create(center)).AsSByte(), s);
        }

        return MultiplyAddU8S8(u, s) - MultiplyAddU8S8(Vector128.Create(center), s);
    }

    /// <summary>
    /// Sums of four adjacent <c>a[i]*b[i]</c> products (s8 x s8) in int32 lanes, as ggml computes them: as
    /// <c>|a[i]| * (b[i] with a[i]'s sign)</c>. Exact when <paramref name="b"/> holds no -128 where
    /// <paramref name="a"/> is negative (negating -128 wraps, in ggml's <c>psignb</c> as here); ggml's int8
    /// quantizers produce values in [-127, 127].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddS8S8(Vector512<sbyte> a, Vector512<sbyte> b) =>
        MultiplyAddU8S8(Vector512.Abs(a).AsByte(), CopySign(b, a));

    /// <inheritdoc cref="MultiplyAddS8S8(Vector512{sbyte}, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddS8S8(Vector256<sbyte> a, Vector256<sbyte> b)
    {
        if (Avx2.IsSupported)
        {
            return MultiplyAddU8S8(Avx2.Sign(a, a).AsByte(), Avx2.Sign(b, a));
        }

        return MultiplyAddU8S8(Vector256.Abs(a).AsByte(), CopySign(b, a));
    }

    /// <inheritdoc cref="MultiplyAddS8S8(Vector512{sbyte}, Vector512{sbyte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddS8S8(Vector128<sbyte> a, Vector128<sbyte> b)
    {
        if (Ssse3.IsSupported)
        {
            return MultiplyAddU8S8(Ssse3.Sign(a, a).AsByte(), Ssse3.Sign(b, a));
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            // The true products: ggml's where its sign trick is exact, which is everywhere its quantizers reach.
            return MultiplyAddSigned(a, b);
        }

        return MultiplyAddU8S8(Vector128.Abs(a).AsByte(), CopySign(b, a));
    }

    /// <summary>
    /// Sums of four adjacent <c>a[i]*b[i]</c> products (s8 x s8) in int32 lanes, exact for any input, on arm64:
    /// <c>sdot</c> where the core has dot product (ARMv8.2-A's DotProd; Cortex-A55/A76, Neoverse N1), else
    /// <c>smull</c>/<c>smull2</c> (eight int16 products each, at most 2^14 in magnitude), <c>saddlp</c> (adjacent
    /// pairs into int32) and one <c>addp</c> (adjacent pairs of those).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> MultiplyAddSigned(Vector128<sbyte> a, Vector128<sbyte> b)
    {
        if (Dp.IsSupported)
        {
            return Dp.DotProduct(Vector128<int>.Zero, a, b);
        }

        var lower = AdvSimd.MultiplyWideningLower(a.GetLower(), b.GetLower());
        var upper = AdvSimd.MultiplyWideningUpper(a, b);
        return AdvSimd.Arm64.AddPairwise(AdvSimd.AddPairwiseWidening(lower), AdvSimd.AddPairwiseWidening(upper));
    }

    /// <summary>
    /// The exact arithmetic every path computes, with no saturation: widen to int16 (a u8*s8 product always fits),
    /// then fold adjacent lanes twice. Used where there is no hardware instruction, and by tests to check the others.
    /// </summary>
    internal static Vector128<int> MultiplyAddU8S8Portable(Vector128<byte> u, Vector128<sbyte> s)
    {
        var (uLower, uUpper) = Vector128.Widen(u);
        var (sLower, sUpper) = Vector128.Widen(s);
        var productsLower = uLower.AsInt16() * sLower;
        var productsUpper = uUpper.AsInt16() * sUpper;
        return Vector128.Narrow(
            SumAdjacentPairs(SumAdjacentPairs(productsLower).AsInt64()),
            SumAdjacentPairs(SumAdjacentPairs(productsUpper).AsInt64()));
    }

    /// <summary>Each int32 lane seen as two int16 halves, summed: sign-extend the low half, shift down the high.</summary>
    private static Vector128<int> SumAdjacentPairs(Vector128<short> halves)
    {
        var lanes = halves.AsInt32();
        return Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(lanes, 16), 16) + Vector128.ShiftRightArithmetic(lanes, 16);
    }

    /// <inheritdoc cref="SumAdjacentPairs(Vector128{short})"/>
    private static Vector512<int> SumAdjacentPairs(Vector512<short> halves)
    {
        var lanes = halves.AsInt32();
        return Vector512.ShiftRightArithmetic(Vector512.ShiftLeft(lanes, 16), 16) + Vector512.ShiftRightArithmetic(lanes, 16);
    }

    /// <summary>Each int64 lane seen as two int32 halves, summed.</summary>
    private static Vector128<long> SumAdjacentPairs(Vector128<long> halves) =>
        Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(halves, 32), 32) + Vector128.ShiftRightArithmetic(halves, 32);

    /// <summary><paramref name="value"/> negated where <paramref name="sign"/> is negative (0 where it is 0 does not matter: |sign| is 0 there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> CopySign(Vector512<sbyte> value, Vector512<sbyte> sign) =>
        Vector512.ConditionalSelect(Vector512.LessThan(sign, Vector512<sbyte>.Zero), -value, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> CopySign(Vector256<sbyte> value, Vector256<sbyte> sign)
    {
        var negative = Vector256.LessThan(sign, Vector256<sbyte>.Zero);
        return (value ^ negative) - negative;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> CopySign(Vector128<sbyte> value, Vector128<sbyte> sign)
    {
        var negative = Vector128.LessThan(sign, Vector128<sbyte>.Zero);
        return (value ^ negative) - negative;
    }
}
