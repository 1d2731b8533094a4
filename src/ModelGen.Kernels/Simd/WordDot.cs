using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary><c>pmaddwd</c>: pairs of int16 products summed into int32 lanes, which the portable Vector API lacks.</summary>
internal static class WordDot
{
    /// <summary>Lane <c>i</c>: <c>a[2i]*b[2i] + a[2i+1]*b[2i+1]</c>, exact except for the one case 2 * (-32768)^2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAdd(Vector256<short> a, Vector256<short> b)
    {
        if (Avx2.IsSupported)
        {
            return Avx2.MultiplyAddAdjacent(a, b);
        }

        return Vector256.Create(MultiplyAdd(a.GetLower(), b.GetLower()), MultiplyAdd(a.GetUpper(), b.GetUpper()));
    }

    /// <inheritdoc cref="MultiplyAdd(Vector256{short}, Vector256{short})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAdd(Vector128<short> a, Vector128<short> b)
    {
        if (Sse2.IsSupported)
        {
            return Sse2.MultiplyAddAdjacent(a, b);
        }

        if (AdvSimd.Arm64.IsSupported)
        {
            // smull, smull2, addp; the one inexact case wraps to int.MinValue, as pmaddwd's does.
            return AdvSimd.Arm64.AddPairwise(AdvSimd.MultiplyWideningLower(a.GetLower(), b.GetLower()), AdvSimd.MultiplyWideningUpper(a, b));
        }

        return MultiplyAddPortable(a, b);
    }

    /// <summary>The same arithmetic in portable operations; tests check the hardware paths against it.</summary>
    internal static Vector128<int> MultiplyAddPortable(Vector128<short> a, Vector128<short> b)
    {
        var even = (a.AsInt32() << 16 >> 16) * (b.AsInt32() << 16 >> 16);
        var odd = (a.AsInt32() >> 16) * (b.AsInt32() >> 16);
        return even + odd;
    }
}
