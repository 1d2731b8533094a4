using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>BF16 weights, dotted with BF16 activations (ggml's <c>vec_dot_type</c> for BF16).</summary>
public readonly struct BF16 : IWeightFormat<BF16>, IActivationFormat
{
    public static GgmlType Type => GgmlType.BF16;

    public static int BlockSize => 1;

    public static int BlockBytes => sizeof(ushort);

    /// <summary><c>ggml_bf16_to_fp32_row</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        BlockRows.Count<BF16>(values.Length, blocks.Length, nameof(blocks));
        FloatConversions.BFloat16ToSingle(SimdPaths.Best, MemoryMarshal.Cast<byte, ushort>(blocks), values);
    }

    /// <summary><c>ggml_fp32_to_bf16_row_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks) => Quantize(SimdPaths.Best, values, blocks);

    /// <summary><c>ggml_cpu_fp32_to_bf16</c>, which computes what the reference does.</summary>
    public static void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks)
    {
        BlockRows.Count<BF16>(values.Length, blocks.Length, nameof(blocks));
        FloatConversions.SingleToBFloat16(path, values, MemoryMarshal.Cast<byte, ushort>(blocks));
    }

    /// <summary><c>ggml_vec_dot_bf16</c> (which on AVX512_BF16 CPUs uses <c>vdpbf16ps</c>, flushing subnormal products).</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        FloatDot<BFloat16Elements, BFloat16Elements>.Dot(path, weights, activations, count);
}
