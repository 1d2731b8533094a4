using ModelGen.Gguf;

namespace ModelGen.LlamaCpp;

/// <summary>
/// ggml's own row functions for any type, through its type traits: the reference that our kernels are
/// checked against. All lengths are in elements and must be whole blocks.
/// </summary>
public static unsafe class GgmlReference
{
    /// <summary><c>dequantize_row_&lt;type&gt;</c> (the <c>to_float</c> trait).</summary>
    public static float[] Dequantize(GgmlType type, ReadOnlySpan<byte> blocks, int count)
    {
        var traits = Traits(type);
        if (traits->ToFloat == null)
        {
            throw new NotSupportedException($"ggml has no dequantize_row for {type}");
        }

        Check(type, blocks.Length, count);
        var values = new float[count];
        fixed (byte* src = blocks)
        fixed (float* dst = values)
        {
            traits->ToFloat(src, dst, count);
        }

        return values;
    }

    /// <summary><c>quantize_row_&lt;type&gt;_ref</c> (the <c>from_float_ref</c> trait).</summary>
    public static byte[] QuantizeReference(GgmlType type, ReadOnlySpan<float> values)
    {
        var traits = Traits(type);
        if (traits->FromFloatRef == null)
        {
            throw new NotSupportedException($"ggml has no quantize_row_ref for {type}");
        }

        var blocks = new byte[type.Info().RowBytes(values.Length)];
        fixed (float* src = values)
        fixed (byte* dst = blocks)
        {
            traits->FromFloatRef(src, dst, values.Length);
        }

        return blocks;
    }

    /// <summary>What ggml's CPU backend does to activations (<c>type_traits_cpu.from_float</c>).</summary>
    public static byte[] QuantizeCpu(GgmlType type, ReadOnlySpan<float> values)
    {
        LlamaCppLibrary.EnsureLoaded();
        var traits = GgmlNative.GetTypeTraitsCpu(type);
        if (traits->FromFloat == null)
        {
            throw new NotSupportedException($"ggml's CPU backend has no from_float for {type}");
        }

        var blocks = new byte[type.Info().RowBytes(values.Length)];
        fixed (float* src = values)
        fixed (byte* dst = blocks)
        {
            traits->FromFloat(src, dst, values.Length);
        }

        return blocks;
    }

    /// <summary>The activation type ggml's CPU backend pairs with <paramref name="weightType"/>.</summary>
    public static GgmlType VecDotType(GgmlType weightType)
    {
        LlamaCppLibrary.EnsureLoaded();
        return GgmlNative.GetTypeTraitsCpu(weightType)->VecDotType;
    }

    /// <summary>ggml's CPU <c>vec_dot</c> for <paramref name="weightType"/>, on the best variant for this CPU.</summary>
    public static float Dot(GgmlType weightType, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        LlamaCppLibrary.EnsureLoaded();
        var traits = GgmlNative.GetTypeTraitsCpu(weightType);
        Check(weightType, weights.Length, count);
        Check(traits->VecDotType, activations.Length, count);
        float result;
        fixed (byte* w = weights)
        fixed (byte* a = activations)
        {
            traits->VecDot(count, &result, 0, w, 0, a, 0, 1);
        }

        return result;
    }

    private static GgmlNative.TypeTraits* Traits(GgmlType type)
    {
        LlamaCppLibrary.EnsureLoaded();
        return GgmlNative.GetTypeTraits(type);
    }

    private static void Check(GgmlType type, int bytes, int count)
    {
        if (type.Info().RowBytes(count) != bytes)
        {
            throw new ArgumentException($"{bytes} bytes is not {count} elements of {type}");
        }
    }
}
