using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary><c>block_q8_0</c>: 32 values <c>d * q</c>, q in -127 to 127.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ8_0
{
    public Half D;

    public SBytes32 Qs;
}

/// <summary>Q8_0: weights, and the activations of Q4_0, Q5_0, Q8_0 and IQ4_NL weights.</summary>
public readonly struct Q8_0 : IWeightFormat<Q8_0>, IActivationFormat, IQ8PairedFormat
{
    public static GgmlType Type => GgmlType.Q8_0;

    public static int BlockSize => 32;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ8_0>();

    static QuantEncoding IQ8PairedFormat.Encoding => QuantEncoding.Signed;

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => Q8PairedKernels<Q8_0>.Dequantize(blocks, values);

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        Q8PairedKernels<Q8_0>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => Q8PairedKernels<Q8_0>.TryDotTile(path, tile);

    /// <summary><c>quantize_row_q8_0_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ8_0>(blocks)[..BlockRows.Count<Q8_0>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < output.Length; b++)
        {
            ref var block = ref output[b];
            var (d, _) = Int8BlockQuantizer.QuantizeReference(values.Slice(b * 32, 32), block.Qs);
            block.D = FloatConversions.SingleToHalf(d);
        }
    }

    /// <summary>ggml's x86 CPU <c>quantize_row_q8_0</c>, which rounds half to even where the reference rounds away from zero.</summary>
    public static void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ8_0>(blocks)[..BlockRows.Count<Q8_0>(values.Length, blocks.Length, nameof(blocks))];
        ref float x = ref MemoryMarshal.GetReference(values);
        for (int b = 0; b < output.Length; b++)
        {
            ref var block = ref output[b];
            var (d, _) = Int8BlockQuantizer.Quantize(path, ref Unsafe.Add(ref x, b * 32), ref block.Qs[0]);
            block.D = FloatConversions.SingleToHalf(d);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IQ8PairedFormat.Quant(ref byte block, int index) => Unsafe.As<byte, BlockQ8_0>(ref block).Qs[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> IQ8PairedFormat.Unpack(ref byte block) => Vector256.LoadUnsafe(ref Quants(ref block));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> First, Vector128<sbyte> Second) IQ8PairedFormat.UnpackHalves(ref byte block) =>
        (Vector128.LoadUnsafe(ref Quants(ref block)), Vector128.LoadUnsafe(ref Quants(ref block), 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<sbyte> IQ8PairedFormat.UnpackPair(ref byte block) =>
        Vector256.LoadUnsafe(ref Quants(ref block)).ToVector512Unsafe().WithUpper(Vector256.LoadUnsafe(ref Quants(ref block), (nuint)BlockBytes));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref sbyte Quants(ref byte block) => ref Unsafe.As<byte, BlockQ8_0>(ref block).Qs[0];
}
