using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary><c>block_q4_1</c>: 32 weights <c>d * q + m</c>, q in 0 to 15.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4_1
{
    public Half D;

    public Half M;

    /// <summary>Element <c>j</c> in the low nibble of byte <c>j</c>, element <c>j + 16</c> in the high nibble.</summary>
    public Bytes16 Qs;
}

/// <summary>Q4_1 weights, dotted with <see cref="Q8_1"/> activations.</summary>
public readonly struct Q4_1 : IWeightFormat<Q8_1>, IQ8PairedFormat
{
    public static GgmlType Type => GgmlType.Q4_1;

    public static int BlockSize => 32;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ4_1>();

    static QuantEncoding IQ8PairedFormat.Encoding => QuantEncoding.Offset;

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => Q8PairedKernels<Q4_1>.Dequantize(blocks, values);

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        Q8PairedKernels<Q4_1>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => Q8PairedKernels<Q4_1>.TryDotTile(path, tile);

    /// <summary><c>quantize_row_q4_1_ref</c>: 16 steps from the block's minimum to its maximum.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ4_1>(blocks)[..BlockRows.Count<Q4_1>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < output.Length; b++)
        {
            var x = values.Slice(b * 32, 32);
            var (min, max) = ScalarQuantization.Range(x);
            float d = (max - min) / 15;
            float id = d != 0 ? 1.0f / d : 0.0f;
            ref var block = ref output[b];
            block.D = FloatConversions.SingleToHalf(d);
            block.M = FloatConversions.SingleToHalf(min);
            for (int j = 0; j < 16; j++)
            {
                int low = Math.Min(15, (int)((x[j] - min) * id + 0.5f));
                int high = Math.Min(15, (int)((x[j + 16] - min) * id + 0.5f));
                block.Qs[j] = (byte)(low | (high << 4));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IQ8PairedFormat.Quant(ref byte block, int index) =>
        (Unsafe.As<byte, BlockQ4_1>(ref block).Qs[index & 15] >> (index >> 4 << 2)) & 0xF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> IQ8PairedFormat.Unpack(ref byte block) => PackedQuants.Nibbles(ref Quants(ref block)).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> First, Vector128<sbyte> Second) IQ8PairedFormat.UnpackHalves(ref byte block)
    {
        var (first, second) = PackedQuants.NibbleHalves(ref Quants(ref block));
        return (first.AsSByte(), second.AsSByte());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<sbyte> IQ8PairedFormat.UnpackPair(ref byte block) => PackedQuants.NibblePairs(ref Quants(ref block), BlockBytes).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref byte Quants(ref byte block) => ref Unsafe.As<byte, BlockQ4_1>(ref block).Qs[0];
}
