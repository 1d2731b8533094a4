using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using ModelGen.Kernels.Formats;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// One block of 32 floats to int8 quants <c>round(x / d)</c> with <c>d = max|x| / 127</c>, the way Q8_0 and Q8_1
/// are made. ggml has two versions that round differently, and both matter: the reference (model files) and the
/// x86 CPU backend's (activations at inference).
/// </summary>
internal static class Int8BlockQuantizer
{
    private const int BlockSize = 32;

    /// <summary>
    /// <c>quantize_row_q8_0_ref</c>'s block: multiplies by <c>1 / d</c> and rounds half away from zero.
    /// Returns <c>d</c> and the sum of the quants.
    /// </summary>
    public static (float Scale, int Sum) QuantizeReference(ReadOnlySpan<float> x, Span<sbyte> quants)
    {
        float d = ScalarQuantization.AbsoluteMaximum(x) / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < BlockSize; j++)
        {
            quants[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            sum += quants[j];
        }

        return (d, sum);
    }

    /// <summary>
    /// The AVX quantizer of ggml's x86 CPU backend (<c>quantize_row_q8_0</c> in arch/x86/quants.c): multiplies by
    /// <c>127 / max</c> and rounds half to even. Returns <c>d</c> and the sum of the quants.
    /// </summary>
    public static (float Scale, int Sum) Quantize(SimdPath path, ref float x, ref sbyte quants) => path switch
    {
        SimdPath.Vector512 => Quantize512(ref x, ref quants),
        SimdPath.Vector256 => Quantize256(ref x, ref quants),
        SimdPath.Vector128 => Quantize128(ref x, ref quants),
        _ => QuantizeScalar(ref x, ref quants),
    };

    private static (float Scale, int Sum) QuantizeScalar(ref float x, ref sbyte quants)
    {
        float max = 0;
        for (int j = 0; j < BlockSize; j++)
        {
            max = MathF.Max(max, MathF.Abs(Unsafe.Add(ref x, j)));
        }

        float id = InverseScale(max);
        int sum = 0;
        for (int j = 0; j < BlockSize; j++)
        {
            int q = (int)MathF.Round(Unsafe.Add(ref x, j) * id);
            Unsafe.Add(ref quants, j) = (sbyte)q;
            sum += q;
        }

        return (max / 127f, sum);
    }

    private static (float Scale, int Sum) Quantize128(ref float x, ref sbyte quants)
    {
        var max = Vector128<float>.Zero;
        for (int j = 0; j < BlockSize; j += Vector128<float>.Count)
        {
            max = Vector128.MaxNative(max, Vector128.Abs(Vector128.LoadUnsafe(ref x, (nuint)j)));
        }

        float maxAbs = MaxAcross(max);
        var id = Vector128.Create(InverseScale(maxAbs));
        var sums = Vector128<int>.Zero;
        for (int j = 0; j < BlockSize; j += 2 * Vector128<short>.Count)
        {
            var q0 = Round(Vector128.LoadUnsafe(ref x, (nuint)j) * id);
            var q1 = Round(Vector128.LoadUnsafe(ref x, (nuint)j + 4) * id);
            var q2 = Round(Vector128.LoadUnsafe(ref x, (nuint)j + 8) * id);
            var q3 = Round(Vector128.LoadUnsafe(ref x, (nuint)j + 12) * id);
            sums += q0 + q1 + q2 + q3;
            Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).StoreUnsafe(ref quants, (nuint)j);
        }

        return (maxAbs / 127f, Vector128.Sum(sums));
    }

    private static (float Scale, int Sum) Quantize256(ref float x, ref sbyte quants)
    {
        var v0 = Vector256.LoadUnsafe(ref x);
        var v1 = Vector256.LoadUnsafe(ref x, 8);
        var v2 = Vector256.LoadUnsafe(ref x, 16);
        var v3 = Vector256.LoadUnsafe(ref x, 24);
        var max = Vector256.MaxNative(
            Vector256.MaxNative(Vector256.Abs(v0), Vector256.Abs(v1)),
            Vector256.MaxNative(Vector256.Abs(v2), Vector256.Abs(v3)));
        float maxAbs = MaxAcross(Vector128.MaxNative(max.GetLower(), max.GetUpper()));
        var id = Vector256.Create(InverseScale(maxAbs));
        var (q0, q1, q2, q3) = (Round(v0 * id), Round(v1 * id), Round(v2 * id), Round(v3 * id));
        Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref quants);
        return (maxAbs / 127f, Vector256.Sum(q0 + q1 + q2 + q3));
    }

    private static (float Scale, int Sum) Quantize512(ref float x, ref sbyte quants)
    {
        var v0 = Vector512.LoadUnsafe(ref x);
        var v1 = Vector512.LoadUnsafe(ref x, 16);
        var max = Vector512.MaxNative(Vector512.Abs(v0), Vector512.Abs(v1));
        var max256 = Vector256.MaxNative(max.GetLower(), max.GetUpper());
        float maxAbs = MaxAcross(Vector128.MaxNative(max256.GetLower(), max256.GetUpper()));
        var id = Vector512.Create(InverseScale(maxAbs));
        var (q0, q1) = (Round(v0 * id), Round(v1 * id));
        var words = Vector512.Narrow(q0, q1);
        Vector256.Narrow(words.GetLower(), words.GetUpper()).StoreUnsafe(ref quants);
        return (maxAbs / 127f, Vector512.Sum(q0 + q1));
    }

    /// <summary><c>127 / max</c>, or 0 for an all-zero block.</summary>
    private static float InverseScale(float max) => max != 0 ? 127f / max : 0f;

    private static float MaxAcross(Vector128<float> x)
    {
        if (AdvSimd.Arm64.IsSupported)
        {
            return AdvSimd.Arm64.MaxAcross(x).ToScalar();
        }

        x = Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1)));
        x = Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2)));
        return x.ToScalar();
    }

    // Round to nearest even, then convert: the product never exceeds 127 in magnitude by more than rounding error.
    private static Vector128<int> Round(Vector128<float> x) => RoundToInt32(x);

    /// <summary>
    /// Each lane rounded to the nearest integer, ties to even, for lanes well inside the int32 range: <c>fcvtns</c>
    /// on arm64, one instruction for the two (round, convert) elsewhere.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> RoundToInt32(Vector128<float> x) =>
        AdvSimd.IsSupported ? AdvSimd.ConvertToInt32RoundToEven(x) : Vector128.ConvertToInt32(Vector128.Round(x));

    private static Vector256<int> Round(Vector256<float> x) => Vector256.ConvertToInt32(Vector256.Round(x));

    private static Vector512<int> Round(Vector512<float> x) => Vector512.ConvertToInt32(Vector512.Round(x));
}
