using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary><c>block_q5_0</c>: 32 weights <c>d * (q - 16)</c>, q in 0 to 31.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ5_0
{
    public Half D;

    /// <summary>The fifth bit of element <c>j</c> in bit <c>j</c> (little-endian).</summary>
    public uint Qh;

    /// <summary>The low four bits: element <c>j</c> in the low nibble of byte <c>j</c>, element <c>j + 16</c> in the high nibble.</summary>
    public Bytes16 Qs;
}

/// <summary>Q5_0 weights, dotted with <see cref="Q8_0"/> activations.</summary>
public readonly struct Q5_0 : IWeightFormat<Q8_0>, IQ8PairedFormat
{
    public static GgmlType Type => GgmlType.Q5_0;

    public static int BlockSize => 32;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ5_0>();

    static QuantEncoding IQ8PairedFormat.Encoding => QuantEncoding.Centered;

    static byte IQ8PairedFormat.ZeroPoint => 16;

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => Q8PairedKernels<Q5_0>.Dequantize(blocks, values);

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        Q8PairedKernels<Q5_0>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => Q8PairedKernels<Q5_0>.TryDotTile(path, tile);

    /// <summary><c>quantize_row_q5_0_ref</c>: the scale maps the value of largest magnitude to -16.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockQ5_0>(blocks)[..BlockRows.Count<Q5_0>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < output.Length; b++)
        {
            var x = values.Slice(b * 32, 32);
            float d = ScalarQuantization.SignedMaximum(x) / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            ref var block = ref output[b];
            block.D = FloatConversions.SingleToHalf(d);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                int low = Math.Min(31, (int)(x[j] * id + 16.5f));
                int high = Math.Min(31, (int)(x[j + 16] * id + 16.5f));
                block.Qs[j] = (byte)((low & 0xF) | ((high & 0xF) << 4));
                qh |= (uint)(low >> 4) << j | (uint)(high >> 4) << (j + 16);
            }

            block.Qh = qh;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IQ8PairedFormat.Quant(ref byte block, int index)
    {
        ref var q = ref Unsafe.As<byte, BlockQ5_0>(ref block);
        return PackedQuants.FiveBitQuant(ref q.Qs[0], q.Qh, index);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> IQ8PairedFormat.Unpack(ref byte block)
    {
        ref var q = ref Unsafe.As<byte, BlockQ5_0>(ref block);
        return PackedQuants.FiveBits(ref q.Qs[0], q.Qh).AsSByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> First, Vector128<sbyte> Second) IQ8PairedFormat.UnpackHalves(ref byte block)
    {
        ref var q = ref Unsafe.As<byte, BlockQ5_0>(ref block);
        var (first, second) = PackedQuants.FiveBitHalves(ref q.Qs[0], q.Qh);
        return (first.AsSByte(), second.AsSByte());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<sbyte> IQ8PairedFormat.UnpackPair(ref byte block)
    {
        ref var q = ref Unsafe.As<byte, BlockQ5_0>(ref block);
        return PackedQuants.FiveBitPairs(ref q.Qs[0], BlockBytes, q.Qh | (ulong)Unsafe.Add(ref q, 1).Qh << 32).AsSByte();
    }
}
