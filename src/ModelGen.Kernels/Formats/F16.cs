using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>FP16 weights, dotted with FP16 activations (ggml's <c>vec_dot_type</c> for F16).</summary>
public readonly struct F16 : IWeightFormat<F16>, IActivationFormat
{
    public static GgmlType Type => GgmlType.F16;

    public static int BlockSize => 1;

    public static int BlockBytes => sizeof(ushort);

    /// <summary><c>ggml_fp16_to_fp32_row</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        BlockRows.Count<F16>(values.Length, blocks.Length, nameof(blocks));
        FloatConversions.HalfToSingle(SimdPaths.Best, MemoryMarshal.Cast<byte, Half>(blocks), values);
    }

    /// <summary><c>ggml_fp32_to_fp16_row</c>: NaNs become the canonical quiet NaN.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        BlockRows.Count<F16>(values.Length, blocks.Length, nameof(blocks));
        FloatConversions.SingleToHalf(SimdPaths.Best, values, MemoryMarshal.Cast<byte, Half>(blocks), HalfNaN.Canonical);
    }

    /// <summary><c>ggml_cpu_fp32_to_fp16</c> on x86 (F16C): NaNs keep their payload's top bits.</summary>
    public static void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks)
    {
        BlockRows.Count<F16>(values.Length, blocks.Length, nameof(blocks));
        FloatConversions.SingleToHalf(path, values, MemoryMarshal.Cast<byte, Half>(blocks), HalfNaN.KeepPayload);
    }

    /// <summary><c>ggml_vec_dot_f16</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        FloatDot<HalfElements>.Dot(path, weights, activations, count);
}
