using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary><c>block_q4_0</c>: 32 weights <c>d * (q - 8)</c>, q in 0 to 15.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4_0
{
    public Half D;

    /// <summary>Element <c>j</c> in the low nibble of byte <c>j</c>, element <c>j + 16</c> in the high nibble.</summary>
    public Bytes16 Qs;
}

/// <summary>Q4_0 weights, dotted with <see cref="Q8_0"/> activations.</summary>
public readonly struct Q4_0 : IWeightFormat<Q8_0>, IQ8PairedFormat
{
    public static GgmlType Type => GgmlType.Q4_0;

    public static int BlockSize => 32;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ4_0>();

    static QuantEncoding IQ8PairedFormat.Encoding => QuantEncoding.Centered;

    static byte IQ8PairedFormat.ZeroPoint => 8;

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => Q8PairedKernels<Q4_0>.Dequantize(blocks, values);

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        Q8PairedKernels<Q4_0>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => Q8PairedKernels<Q4_0>.TryDotTile(path, tile);

    /// <summary><c>quantize_row_q4_0_ref</c>: the scale maps the value of largest magnitude to -8.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ4_0>(blocks)[..BlockRows.Count<Q4_0>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < output.Length; b++)
        {
            var x = values.Slice(b * 32, 32);
            float d = ScalarQuantization.SignedMaximum(x) / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            ref var block = ref output[b];
            block.D = FloatConversions.SingleToHalf(d);
            for (int j = 0; j < 16; j++)
            {
                int low = Math.Min(15, (int)(x[j] * id + 8.5f));
                int high = Math.Min(15, (int)(x[j + 16] * id + 8.5f));
                block.Qs[j] = (byte)(low | (high << 4));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IQ8PairedFormat.Quant(ref byte block, int index) =>
        (Unsafe.As<byte, BlockQ4_0>(ref block).Qs[index & 15] >> (index >> 4 << 2)) & 0xF;

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
    private static ref byte Quants(ref byte block) => ref Unsafe.As<byte, BlockQ4_0>(ref block).Qs[0];
}
