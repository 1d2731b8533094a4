using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>FP32 weights, dotted with FP32 activations (ggml's <c>vec_dot_type</c> for F32 is F32).</summary>
public readonly struct F32 : IWeightFormat<F32>, IActivationFormat
{
    public static GgmlType Type => GgmlType.F32;

    public static int BlockSize => 1;

    public static int BlockBytes => sizeof(float);

    /// <summary>A copy: ggml has no conversion for F32, which is already what it converts to.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) =>
        Copy(blocks, MemoryMarshal.AsBytes(values), values.Length);

    /// <summary>A copy, as ggml's CPU <c>from_float</c> for F32 is a <c>memcpy</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks) =>
        Copy(MemoryMarshal.AsBytes(values), blocks, values.Length);

    /// <inheritdoc cref="QuantizeReference"/>
    public static void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks) => QuantizeReference(values, blocks);

    /// <summary><c>ggml_vec_dot_f32</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        FloatDot<SingleElements, SingleElements>.Dot(path, weights, activations, count);

    private static void Copy(ReadOnlySpan<byte> source, Span<byte> destination, int count)
    {
        BlockRows.Count<F32>(count, source.Length, nameof(source));
        BlockRows.Count<F32>(count, destination.Length, nameof(destination));
        source.CopyTo(destination);
    }
}
