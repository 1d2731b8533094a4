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
        FloatDot<HalfElements, HalfElements>.Dot(path, weights, activations, count);

    /// <summary>
    /// FP16 activations widened to FP32 once, for <see cref="Dot(SimdPath, ReadOnlySpan{byte}, ReadOnlySpan{float})"/>
    /// against many rows (attention's query against each cached key, its probabilities against each value row): .NET
    /// has no F16C, so converting FP16 costs a dozen instructions a vector. The elements are stored in the order the
    /// dot of <paramref name="path"/> reads them, not their own, so only that dot, with the same path, may read them.
    /// </summary>
    public static void WidenActivations(SimdPath path, ReadOnlySpan<Half> activations, Span<float> widened) =>
        WidenedRow<HalfElements>.Widen(path, MemoryMarshal.AsBytes(activations), widened);

    /// <summary>
    /// <see cref="Dot(SimdPath, ReadOnlySpan{byte}, ReadOnlySpan{byte}, int)"/> against activations that
    /// <see cref="WidenActivations"/> widened with the same path: the same float, bit for bit.
    /// </summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<float> widened) =>
        FloatDot<HalfElements, SingleElements>.Dot(path, weights, MemoryMarshal.AsBytes(widened), widened.Length);

    /// <summary>
    /// <see cref="Dot(SimdPath, ReadOnlySpan{byte}, ReadOnlySpan{float})"/> of many rows against the same widened
    /// activations (attention's query against every cached key): row r starts at element r * <paramref name="stride"/>
    /// of <paramref name="rows"/>, and its dot goes to <paramref name="results"/>[r]. The same floats as row by row,
    /// for less: the rows' horizontal sums are taken together.
    /// </summary>
    public static void DotRows(SimdPath path, ReadOnlySpan<Half> rows, int stride, ReadOnlySpan<float> widened, Span<float> results) =>
        FloatDot<HalfElements, SingleElements>.DotRows(
            path, MemoryMarshal.AsBytes(rows), stride * sizeof(ushort), MemoryMarshal.AsBytes(widened), widened.Length, results);
}
