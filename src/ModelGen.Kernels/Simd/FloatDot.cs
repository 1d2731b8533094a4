using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// How a float format's elements are read as FP32: one at a time, or two vectors at a time, which may split the
/// elements in any order as long as weights and activations split alike (16-bit formats take even and odd
/// elements from the halves of 32-bit lanes, so no widening shuffle is needed).
/// </summary>
internal interface IFloatElements
{
    /// <summary>Bytes per element.</summary>
    static abstract int ElementBytes { get; }

    static abstract float Load(ref byte row, nuint index);

    /// <summary>Elements <paramref name="index"/> to <paramref name="index"/> + 7 as FP32.</summary>
    static abstract (Vector128<float>, Vector128<float>) Load128(ref byte row, nuint index);

    /// <summary>Elements <paramref name="index"/> to <paramref name="index"/> + 15 as FP32.</summary>
    static abstract (Vector256<float>, Vector256<float>) Load256(ref byte row, nuint index);

    /// <summary>Elements <paramref name="index"/> to <paramref name="index"/> + 31 as FP32.</summary>
    static abstract (Vector512<float>, Vector512<float>) Load512(ref byte row, nuint index);
}

/// <summary>
/// ggml's <c>ggml_vec_dot_f32</c>/<c>_f16</c>/<c>_bf16</c>: both rows read as FP32, multiplied and summed in float lanes
/// (four independent accumulators, to hide the latency of fused multiply-add), reduced once at the end.
/// </summary>
/// <remarks>
/// The two readers must present elements in the same order: both rows in one format, or FP32 activations that
/// <see cref="WidenedRow{TElements}"/> stored in <typeparamref name="TWeights"/>' order.
/// </remarks>
internal static class FloatDot<TWeights, TActivations>
    where TWeights : IFloatElements
    where TActivations : IFloatElements
{
    private const int Step512 = 2 * 16, Step256 = 2 * 8, Step128 = 2 * 4;

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        CheckActivations(activations, count);
        if (weights.Length != (long)count * TWeights.ElementBytes)
        {
            throw new ArgumentException($"a row of {weights.Length} bytes is not {count} elements of {TWeights.ElementBytes} bytes", nameof(weights));
        }

        return Dot(path, ref MemoryMarshal.GetReference(weights), ref MemoryMarshal.GetReference(activations), count);
    }

    /// <summary>
    /// Rows of <paramref name="count"/> weights, <paramref name="stride"/> bytes apart, each dotted with the same
    /// activations: <paramref name="results"/>[r] is <see cref="Dot(SimdPath, ReadOnlySpan{byte}, ReadOnlySpan{byte}, int)"/>
    /// of row r. The rows' horizontal sums are taken a vector's worth at a time (<see cref="LaneSums"/>): for short
    /// rows, such as attention's keys of 64 elements, one sum per row costs as much as its products.
    /// </summary>
    public static void DotRows(SimdPath path, ReadOnlySpan<byte> weights, int stride, ReadOnlySpan<byte> activations, int count, Span<float> results)
    {
        CheckActivations(activations, count);
        ArgumentOutOfRangeException.ThrowIfNegative(stride);
        int rows = results.Length;
        if (rows > 0 && (long)(rows - 1) * stride + (long)count * TWeights.ElementBytes > weights.Length)
        {
            throw new ArgumentException($"{rows} rows of {count} elements {stride} bytes apart do not fit in {weights.Length} bytes", nameof(weights));
        }

        ref byte w = ref MemoryMarshal.GetReference(weights);
        ref byte a = ref MemoryMarshal.GetReference(activations);
        ref float y = ref MemoryMarshal.GetReference(results);
        int r = 0;
        if (path == SimdPath.Vector512)
        {
            Span<Vector512<float>> products = stackalloc Vector512<float>[Vector512<float>.Count];
            for (; r + products.Length <= rows; r += products.Length)
            {
                for (int k = 0; k < products.Length; k++)
                {
                    products[k] = Products512(ref Row(ref w, stride, r + k), ref a, count);
                }

                LaneSums.Of(products).StoreUnsafe(ref y, (nuint)r);
                AddTails(ref w, stride, r, products.Length, ref a, count / Step512 * Step512, count, ref y);
            }
        }
        else if (path == SimdPath.Vector256)
        {
            Span<Vector256<float>> products = stackalloc Vector256<float>[Vector256<float>.Count];
            for (; r + products.Length <= rows; r += products.Length)
            {
                for (int k = 0; k < products.Length; k++)
                {
                    products[k] = Products256(ref Row(ref w, stride, r + k), ref a, count);
                }

                LaneSums.Of(products).StoreUnsafe(ref y, (nuint)r);
                AddTails(ref w, stride, r, products.Length, ref a, count / Step256 * Step256, count, ref y);
            }
        }
        else if (path == SimdPath.Vector128)
        {
            Span<Vector128<float>> products = stackalloc Vector128<float>[Vector128<float>.Count];
            for (; r + products.Length <= rows; r += products.Length)
            {
                for (int k = 0; k < products.Length; k++)
                {
                    products[k] = Products128(ref Row(ref w, stride, r + k), ref a, count);
                }

                LaneSums.Of(products).StoreUnsafe(ref y, (nuint)r);
                AddTails(ref w, stride, r, products.Length, ref a, count / Step128 * Step128, count, ref y);
            }
        }

        // The rows that do not fill a vector, and every row on the scalar path.
        for (; r < rows; r++)
        {
            Unsafe.Add(ref y, r) = Dot(path, ref Row(ref w, stride, r), ref a, count);
        }
    }

    private static void CheckActivations(ReadOnlySpan<byte> activations, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (activations.Length != (long)count * TActivations.ElementBytes)
        {
            throw new ArgumentException($"a row of {activations.Length} bytes is not {count} elements of {TActivations.ElementBytes} bytes", nameof(activations));
        }
    }

    private static ref byte Row(ref byte weights, int stride, int row) => ref Unsafe.Add(ref weights, (nint)row * stride);

    private static float Dot(SimdPath path, ref byte w, ref byte a, int n) => path switch
    {
        SimdPath.Vector512 => LaneSums.Of(Products512(ref w, ref a, n)) + Tail(ref w, ref a, n / Step512 * Step512, n),
        SimdPath.Vector256 => LaneSums.Of(Products256(ref w, ref a, n)) + Tail(ref w, ref a, n / Step256 * Step256, n),
        SimdPath.Vector128 => LaneSums.Of(Products128(ref w, ref a, n)) + Tail(ref w, ref a, n / Step128 * Step128, n),
        _ => Tail(ref w, ref a, 0, n),
    };

    /// <summary>Adds rows' elements from <paramref name="start"/> on to their sums in <paramref name="y"/>, as <see cref="Dot(SimdPath, ref byte, ref byte, int)"/> does.</summary>
    private static void AddTails(ref byte w, int stride, int firstRow, int rows, ref byte a, int start, int n, ref float y)
    {
        for (int r = firstRow; r < firstRow + rows; r++)
        {
            Unsafe.Add(ref y, r) += Tail(ref Row(ref w, stride, r), ref a, start, n);
        }
    }

    /// <summary>The products of the whole steps (<see cref="Step512"/> elements each), summed in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Products512(ref byte w, ref byte a, int n)
    {
        const int step = Step512;
        var (s0, s1, s2, s3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        nuint i = 0;
        for (; (int)i + 2 * step <= n; i += 2 * step)
        {
            var ((w0, w1), (a0, a1)) = (TWeights.Load512(ref w, i), TActivations.Load512(ref a, i));
            var ((w2, w3), (a2, a3)) = (TWeights.Load512(ref w, i + step), TActivations.Load512(ref a, i + step));
            s0 = Vector512.MultiplyAddEstimate(w0, a0, s0);
            s1 = Vector512.MultiplyAddEstimate(w1, a1, s1);
            s2 = Vector512.MultiplyAddEstimate(w2, a2, s2);
            s3 = Vector512.MultiplyAddEstimate(w3, a3, s3);
        }

        if ((int)i + step <= n)
        {
            var ((w0, w1), (a0, a1)) = (TWeights.Load512(ref w, i), TActivations.Load512(ref a, i));
            s0 = Vector512.MultiplyAddEstimate(w0, a0, s0);
            s1 = Vector512.MultiplyAddEstimate(w1, a1, s1);
        }

        return (s0 + s1) + (s2 + s3);
    }

    /// <inheritdoc cref="Products512"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Products256(ref byte w, ref byte a, int n)
    {
        const int step = Step256;
        var (s0, s1, s2, s3) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
        nuint i = 0;
        for (; (int)i + 2 * step <= n; i += 2 * step)
        {
            var ((w0, w1), (a0, a1)) = (TWeights.Load256(ref w, i), TActivations.Load256(ref a, i));
            var ((w2, w3), (a2, a3)) = (TWeights.Load256(ref w, i + step), TActivations.Load256(ref a, i + step));
            s0 = Vector256.MultiplyAddEstimate(w0, a0, s0);
            s1 = Vector256.MultiplyAddEstimate(w1, a1, s1);
            s2 = Vector256.MultiplyAddEstimate(w2, a2, s2);
            s3 = Vector256.MultiplyAddEstimate(w3, a3, s3);
        }

        if ((int)i + step <= n)
        {
            var ((w0, w1), (a0, a1)) = (TWeights.Load256(ref w, i), TActivations.Load256(ref a, i));
            s0 = Vector256.MultiplyAddEstimate(w0, a0, s0);
            s1 = Vector256.MultiplyAddEstimate(w1, a1, s1);
        }

        return (s0 + s1) + (s2 + s3);
    }

    /// <inheritdoc cref="Products512"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Products128(ref byte w, ref byte a, int n)
    {
        const int step = Step128;
        var (s0, s1, s2, s3) = (Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero);
        nuint i = 0;
        for (; (int)i + 2 * step <= n; i += 2 * step)
        {
            var ((w0, w1), (a0, a1)) = (TWeights.Load128(ref w, i), TActivations.Load128(ref a, i));
            var ((w2, w3), (a2, a3)) = (TWeights.Load128(ref w, i + step), TActivations.Load128(ref a, i + step));
            s0 = Vector128.MultiplyAddEstimate(w0, a0, s0);
            s1 = Vector128.MultiplyAddEstimate(w1, a1, s1);
            s2 = Vector128.MultiplyAddEstimate(w2, a2, s2);
            s3 = Vector128.MultiplyAddEstimate(w3, a3, s3);
        }

        if ((int)i + step <= n)
        {
            var ((w0, w1), (a0, a1)) = (TWeights.Load128(ref w, i), TActivations.Load128(ref a, i));
            s0 = Vector128.MultiplyAddEstimate(w0, a0, s0);
            s1 = Vector128.MultiplyAddEstimate(w1, a1, s1);
        }

        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>Elements <paramref name="start"/> to <paramref name="n"/> one at a time: the scalar path, and the vector paths' remainder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(ref byte w, ref byte a, int start, int n)
    {
        float sum = 0;
        for (nuint i = (nuint)start; i < (nuint)n; i++)
        {
            sum += TWeights.Load(ref w, i) * TActivations.Load(ref a, i);
        }

        return sum;
    }
}

/// <summary>
/// A row in <typeparamref name="TElements"/>' format widened to FP32 once, to be dotted against many rows in that
/// format (as <see cref="SingleElements"/> activations of <see cref="FloatDot{TWeights, TActivations}"/>) without
/// converting it again for each. Each whole vector step is stored in the order <typeparamref name="TElements"/>'
/// loads present it (even elements then odd, for the 16-bit formats), the remainder as it is: the dot then
/// multiplies the same pairs in the same lanes, and returns the same float bit for bit, as the dot of the unwidened
/// row with the same path. The order depends on the path, so a row must be dotted with the path that widened it.
/// </summary>
internal static class WidenedRow<TElements>
    where TElements : IFloatElements
{
    public static void Widen(SimdPath path, ReadOnlySpan<byte> row, Span<float> widened)
    {
        if (row.Length != (long)widened.Length * TElements.ElementBytes)
        {
            throw new ArgumentException($"a row of {row.Length} bytes is not {widened.Length} elements of {TElements.ElementBytes} bytes");
        }

        ref byte r = ref MemoryMarshal.GetReference(row);
        ref float f = ref MemoryMarshal.GetReference(widened);
        int n = widened.Length;
        nuint i = 0;

        // FloatDot's steps: one pair of vectors each.
        if (path == SimdPath.Vector512)
        {
            for (; (int)i + 2 * 16 <= n; i += 2 * 16)
            {
                var (first, second) = TElements.Load512(ref r, i);
                first.StoreUnsafe(ref f, i);
                second.StoreUnsafe(ref f, i + 16);
            }
        }
        else if (path == SimdPath.Vector256)
        {
            for (; (int)i + 2 * 8 <= n; i += 2 * 8)
            {
                var (first, second) = TElements.Load256(ref r, i);
                first.StoreUnsafe(ref f, i);
                second.StoreUnsafe(ref f, i + 8);
            }
        }
        else if (path == SimdPath.Vector128)
        {
            for (; (int)i + 2 * 4 <= n; i += 2 * 4)
            {
                var (first, second) = TElements.Load128(ref r, i);
                first.StoreUnsafe(ref f, i);
                second.StoreUnsafe(ref f, i + 4);
            }
        }

        for (; i < (nuint)n; i++)
        {
            Unsafe.Add(ref f, i) = TElements.Load(ref r, i);
        }
    }
}

/// <summary>FP32 elements: two consecutive vectors.</summary>
internal readonly struct SingleElements : IFloatElements
{
    public static int ElementBytes => sizeof(float);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref byte row, nuint index) => Unsafe.Add(ref Unsafe.As<byte, float>(ref row), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float>, Vector128<float>) Load128(ref byte row, nuint index)
    {
        ref float values = ref Unsafe.As<byte, float>(ref row);
        return (Vector128.LoadUnsafe(ref values, index), Vector128.LoadUnsafe(ref values, index + 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load256(ref byte row, nuint index)
    {
        ref float values = ref Unsafe.As<byte, float>(ref row);
        return (Vector256.LoadUnsafe(ref values, index), Vector256.LoadUnsafe(ref values, index + 8));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float>, Vector512<float>) Load512(ref byte row, nuint index)
    {
        ref float values = ref Unsafe.As<byte, float>(ref row);
        return (Vector512.LoadUnsafe(ref values, index), Vector512.LoadUnsafe(ref values, index + 16));
    }
}

/// <summary>FP16 elements, converted as ggml converts them: even elements from the low halves of 32-bit lanes, odd from the high.</summary>
internal readonly struct HalfElements : IFloatElements
{
    public static int ElementBytes => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref byte row, nuint index) =>
        FloatConversions.HalfToSingle(Unsafe.Add(ref Unsafe.As<byte, Half>(ref row), index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float>, Vector128<float>) Load128(ref byte row, nuint index)
    {
        var pairs = Vector128.LoadUnsafe(ref Unsafe.As<byte, uint>(ref row), index / 2);
        return (FloatConversions.HalfToSingle(pairs), FloatConversions.HalfToSingle(pairs >> 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load256(ref byte row, nuint index)
    {
        var pairs = Vector256.LoadUnsafe(ref Unsafe.As<byte, uint>(ref row), index / 2);
        return (FloatConversions.HalfToSingle(pairs), FloatConversions.HalfToSingle(pairs >> 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float>, Vector512<float>) Load512(ref byte row, nuint index)
    {
        var pairs = Vector512.LoadUnsafe(ref Unsafe.As<byte, uint>(ref row), index / 2);
        return (FloatConversions.HalfToSingle(pairs), FloatConversions.HalfToSingle(pairs >> 16));
    }
}

/// <summary>BF16 elements, the top halves of FP32s: even elements shifted up from the low halves of 32-bit lanes, odd ones masked in place.</summary>
internal readonly struct BFloat16Elements : IFloatElements
{
    private const uint High = 0xFFFF_0000;

    public static int ElementBytes => sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref byte row, nuint index) =>
        FloatConversions.BFloat16ToSingle(Unsafe.Add(ref Unsafe.As<byte, ushort>(ref row), index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<float>, Vector128<float>) Load128(ref byte row, nuint index)
    {
        var pairs = Vector128.LoadUnsafe(ref Unsafe.As<byte, uint>(ref row), index / 2);
        return ((pairs << 16).AsSingle(), (pairs & Vector128.Create(High)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load256(ref byte row, nuint index)
    {
        var pairs = Vector256.LoadUnsafe(ref Unsafe.As<byte, uint>(ref row), index / 2);
        return ((pairs << 16).AsSingle(), (pairs & Vector256.Create(High)).AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float>, Vector512<float>) Load512(ref byte row, nuint index)
    {
        var pairs = Vector512.LoadUnsafe(ref Unsafe.As<byte, uint>(ref row), index / 2);
        return ((pairs << 16).AsSingle(), (pairs & Vector512.Create(High)).AsSingle());
    }
}
