using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels.Simd;

/// <summary>How a float format's elements are read as FP32, one at a time or a vector at a time.</summary>
internal interface IFloatElements
{
    /// <summary>Bytes per element.</summary>
    static abstract int ElementBytes { get; }

    static abstract float Load(ref byte row, nuint index);

    static abstract Vector128<float> Load128(ref byte row, nuint index);

    static abstract Vector256<float> Load256(ref byte row, nuint index);

    static abstract Vector512<float> Load512(ref byte row, nuint index);
}

/// <summary>
/// ggml's <c>ggml_vec_dot_f32</c>/<c>_f16</c>/<c>_bf16</c>: both rows read as FP32, multiplied and summed in float lanes
/// (four independent accumulators, to hide the latency of fused multiply-add), reduced once at the end.
/// </summary>
internal static class FloatDot<TElements>
    where TElements : IFloatElements
{
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (weights.Length != (long)count * TElements.ElementBytes || activations.Length != weights.Length)
        {
            throw new ArgumentException($"rows of {weights.Length} and {activations.Length} bytes are not {count} elements of {TElements.ElementBytes} bytes");
        }

        ref byte w = ref MemoryMarshal.GetReference(weights);
        ref byte a = ref MemoryMarshal.GetReference(activations);
        int n = count;
        return path switch
        {
            SimdPath.Vector512 => Dot512(ref w, ref a, n),
            SimdPath.Vector256 => Dot256(ref w, ref a, n),
            SimdPath.Vector128 => Dot128(ref w, ref a, n),
            _ => Tail(ref w, ref a, 0, n),
        };
    }

    private static float Dot512(ref byte w, ref byte a, int n)
    {
        const int width = 16;
        var (s0, s1, s2, s3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        nuint i = 0;
        for (; (int)i + 4 * width <= n; i += 4 * width)
        {
            s0 = Vector512.MultiplyAddEstimate(TElements.Load512(ref w, i), TElements.Load512(ref a, i), s0);
            s1 = Vector512.MultiplyAddEstimate(TElements.Load512(ref w, i + width), TElements.Load512(ref a, i + width), s1);
            s2 = Vector512.MultiplyAddEstimate(TElements.Load512(ref w, i + 2 * width), TElements.Load512(ref a, i + 2 * width), s2);
            s3 = Vector512.MultiplyAddEstimate(TElements.Load512(ref w, i + 3 * width), TElements.Load512(ref a, i + 3 * width), s3);
        }

        for (; (int)i + width <= n; i += width)
        {
            s0 = Vector512.MultiplyAddEstimate(TElements.Load512(ref w, i), TElements.Load512(ref a, i), s0);
        }

        return Vector512.Sum((s0 + s1) + (s2 + s3)) + Tail(ref w, ref a, (int)i, n);
    }

    private static float Dot256(ref byte w, ref byte a, int n)
    {
        const int width = 8;
        var (s0, s1, s2, s3) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
        nuint i = 0;
        for (; (int)i + 4 * width <= n; i += 4 * width)
        {
            s0 = Vector256.MultiplyAddEstimate(TElements.Load256(ref w, i), TElements.Load256(ref a, i), s0);
            s1 = Vector256.MultiplyAddEstimate(TElements.Load256(ref w, i + width), TElements.Load256(ref a, i + width), s1);
            s2 = Vector256.MultiplyAddEstimate(TElements.Load256(ref w, i + 2 * width), TElements.Load256(ref a, i + 2 * width), s2);
            s3 = Vector256.MultiplyAddEstimate(TElements.Load256(ref w, i + 3 * width), TElements.Load256(ref a, i + 3 * width), s3);
        }

        for (; (int)i + width <= n; i += width)
        {
            s0 = Vector256.MultiplyAddEstimate(TElements.Load256(ref w, i), TElements.Load256(ref a, i), s0);
        }

        return Vector256.Sum((s0 + s1) + (s2 + s3)) + Tail(ref w, ref a, (int)i, n);
    }

    private static float Dot128(ref byte w, ref byte a, int n)
    {
        const int width = 4;
        var (s0, s1, s2, s3) = (Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero);
        nuint i = 0;
        for (; (int)i + 4 * width <= n; i += 4 * width)
        {
            s0 = Vector128.MultiplyAddEstimate(TElements.Load128(ref w, i), TElements.Load128(ref a, i), s0);
            s1 = Vector128.MultiplyAddEstimate(TElements.Load128(ref w, i + width), TElements.Load128(ref a, i + width), s1);
            s2 = Vector128.MultiplyAddEstimate(TElements.Load128(ref w, i + 2 * width), TElements.Load128(ref a, i + 2 * width), s2);
            s3 = Vector128.MultiplyAddEstimate(TElements.Load128(ref w, i + 3 * width), TElements.Load128(ref a, i + 3 * width), s3);
        }

        for (; (int)i + width <= n; i += width)
        {
            s0 = Vector128.MultiplyAddEstimate(TElements.Load128(ref w, i), TElements.Load128(ref a, i), s0);
        }

        return Vector128.Sum((s0 + s1) + (s2 + s3)) + Tail(ref w, ref a, (int)i, n);
    }

    /// <summary>Elements <paramref name="start"/> to <paramref name="n"/> one at a time: the scalar path, and the vector paths' remainder.</summary>
    private static float Tail(ref byte w, ref byte a, int start, int n)
    {
        float sum = 0;
        for (nuint i = (nuint)start; i < (nuint)n; i++)
        {
            sum += TElements.Load(ref w, i) * TElements.Load(ref a, i);
        }

        return sum;
    }
}

/// <summary>FP32 elements.</summary>
internal readonly struct SingleElements : IFloatElements
{
    public static int ElementBytes => sizeof(float);

    public static float Load(ref byte row, nuint index) => Unsafe.Add(ref Unsafe.As<byte, float>(ref row), index);

    public static Vector128<float> Load128(ref byte row, nuint index) => Vector128.LoadUnsafe(ref Unsafe.As<byte, float>(ref row), index);

    public static Vector256<float> Load256(ref byte row, nuint index) => Vector256.LoadUnsafe(ref Unsafe.As<byte, float>(ref row), index);

    public static Vector512<float> Load512(ref byte row, nuint index) => Vector512.LoadUnsafe(ref Unsafe.As<byte, float>(ref row), index);
}

/// <summary>FP16 elements, converted as ggml converts them.</summary>
internal readonly struct HalfElements : IFloatElements
{
    public static int ElementBytes => sizeof(ushort);

    public static float Load(ref byte row, nuint index) =>
        FloatConversions.HalfToSingle(Unsafe.Add(ref Unsafe.As<byte, Half>(ref row), index));

    public static Vector128<float> Load128(ref byte row, nuint index) => FloatConversions.HalfToSingle(Vector128.WidenLower(
        Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref row, index * sizeof(ushort)))).AsUInt16()));

    public static Vector256<float> Load256(ref byte row, nuint index) => FloatConversions.HalfToSingle(
        Vector256.WidenLower(Vector128.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), index).ToVector256Unsafe()));

    public static Vector512<float> Load512(ref byte row, nuint index) => FloatConversions.HalfToSingle(
        Vector512.WidenLower(Vector256.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), index).ToVector512Unsafe()));
}

/// <summary>BF16 elements: the top halves of FP32s.</summary>
internal readonly struct BFloat16Elements : IFloatElements
{
    public static int ElementBytes => sizeof(ushort);

    public static float Load(ref byte row, nuint index) =>
        FloatConversions.BFloat16ToSingle(Unsafe.Add(ref Unsafe.As<byte, ushort>(ref row), index));

    public static Vector128<float> Load128(ref byte row, nuint index) => (Vector128.WidenLower(
        Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref row, index * sizeof(ushort)))).AsUInt16()) << 16).AsSingle();

    public static Vector256<float> Load256(ref byte row, nuint index) =>
        (Vector256.WidenLower(Vector128.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), index).ToVector256Unsafe()) << 16).AsSingle();

    public static Vector512<float> Load512(ref byte row, nuint index) =>
        (Vector512.WidenLower(Vector256.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), index).ToVector512Unsafe()) << 16).AsSingle();
}
