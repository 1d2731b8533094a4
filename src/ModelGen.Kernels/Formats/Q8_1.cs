using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary><c>block_q8_1</c>: 32 values <c>d * q</c>, q in -127 to 127, and <c>s = d * sum(q)</c>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ8_1
{
    public Half D;

    /// <summary><c>d</c> times the sum of the quants: what the weights' minimum multiplies in a dot product.</summary>
    public Half S;

    public SBytes32 Qs;
}

/// <summary>Q8_1: the activations of Q4_1 and Q5_1 weights (ggml has no Q8_1 weights).</summary>
public readonly struct Q8_1 : IActivationFormat
{
    public static GgmlType Type => GgmlType.Q8_1;

    public static int BlockSize => 32;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ8_1>();

    /// <summary><c>dequantize_row_q8_1</c> does not exist in ggml; this is <c>d * q</c>, as for Q8_0.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        var input = MemoryMarshal.Cast<byte, BlockQ8_1>(blocks)[..BlockRows.Count<Q8_1>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < input.Length; b++)
        {
            float d = FloatConversions.HalfToSingle(input[b].D);
            for (int j = 0; j < 32; j++)
            {
                values[b * 32 + j] = input[b].Qs[j] * d;
            }
        }
    }

    /// <summary><c>quantize_row_q8_1_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ8_1>(blocks)[..BlockRows.Count<Q8_1>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < output.Length; b++)
        {
            ref var block = ref output[b];
            var (d, sum) = Int8BlockQuantizer.QuantizeReference(values.Slice(b * 32, 32), block.Qs);
            block.D = FloatConversions.SingleToHalf(d);
            block.S = FloatConversions.SingleToHalf(sum * d);
        }
    }

    /// <summary>ggml's x86 CPU <c>quantize_row_q8_1</c>, which rounds half to even where the reference rounds away from zero.</summary>
    public static void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ8_1>(blocks)[..BlockRows.Count<Q8_1>(values.Length, blocks.Length, nameof(blocks))];
        ref float x = ref MemoryMarshal.GetReference(values);
        for (int b = 0; b < output.Length; b++)
        {
            ref var block = ref output[b];
            var (d, sum) = Int8BlockQuantizer.Quantize(path, ref Unsafe.Add(ref x, b * 32), ref block.Qs[0]);
            block.D = FloatConversions.SingleToHalf(d);
            block.S = FloatConversions.SingleToHalf(d * sum);
        }
    }
}
