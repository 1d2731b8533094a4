using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary><c>block_iq4_nl</c>: 32 weights <c>d * Values[q]</c>, q in 0 to 15 indexing a non-linear grid.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockIQ4_NL
{
    public Half D;

    /// <summary>Element <c>j</c> in the low nibble of byte <c>j</c>, element <c>j + 16</c> in the high nibble.</summary>
    public Bytes16 Qs;
}

/// <summary>IQ4_NL weights, dotted with <see cref="Q8_0"/> activations.</summary>
public readonly struct IQ4_NL : IWeightFormat<Q8_0>, IQ8PairedFormat
{
    /// <summary>ggml's <c>kvalues_iq4nl</c>: the grid the 4-bit quants index, denser near zero.</summary>
    public static ReadOnlySpan<sbyte> Values => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    public static GgmlType Type => GgmlType.IQ4_NL;

    public static int BlockSize => 32;

    public static int BlockBytes => Unsafe.SizeOf<BlockIQ4_NL>();

    static QuantEncoding IQ8PairedFormat.Encoding => QuantEncoding.Signed;

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values) => Q8PairedKernels<IQ4_NL>.Dequantize(blocks, values);

    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count) =>
        Q8PairedKernels<IQ4_NL>.Dot(path, weights, activations, count);

    public static bool TryDotTile(SimdPath path, in WeightTile tile) => Q8PairedKernels<IQ4_NL>.TryDotTile(path, tile);

    /// <summary>
    /// IQ4_NL as <c>ggml_quantize_chunk</c> writes it, and so llama-quantize: unlike the reference quantizer it searches
    /// 15 more scales per block (<see cref="IQ4Grid.SearchScale"/>, llama.cpp's <c>ntry = 7</c>), then takes every
    /// weight's grid point at the chosen scale.
    /// </summary>
    public static void QuantizeSearched(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockIQ4_NL>(blocks)[..BlockRows.Count<IQ4_NL>(values.Length, blocks.Length, nameof(blocks))];
        for (int b = 0; b < output.Length; b++)
        {
            var x = values.Slice(b * 32, 32);
            float d = IQ4Grid.SearchScale(x, steps: 7);
            float id = d != 0 ? 1 / d : 0;
            ref var block = ref output[b];
            block.D = FloatConversions.SingleToHalf(d);
            for (int j = 0; j < 16; j++)
            {
                block.Qs[j] = (byte)(IQ4Grid.NearestPoint(id * x[j]) | (IQ4Grid.NearestPoint(id * x[j + 16]) << 4));
            }
        }
    }

    /// <summary>
    /// <c>quantize_row_iq4_nl_ref</c> (<c>quantize_row_iq4_nl_impl</c> with no importance weights and no scale
    /// search): nearest grid points for <c>d = max / -127</c>, then the least-squares scale for them, weighting
    /// each element by its square.
    /// </summary>
    /// <remarks>
    /// For a block with every magnitude below 1e-15, ggml writes scale 0 and leaves its quants buffer as the
    /// previous block left it (uninitialised stack memory for the first block). We carry the previous block's
    /// quants too, and zeros for a first block, which dequantizes identically.
    /// </remarks>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        var output = MemoryMarshal.Cast<byte, BlockIQ4_NL>(blocks)[..BlockRows.Count<IQ4_NL>(values.Length, blocks.Length, nameof(blocks))];
        Span<byte> grid = stackalloc byte[32];
        grid.Clear();
        for (int b = 0; b < output.Length; b++)
        {
            var x = values.Slice(b * 32, 32);
            float amax = 0, max = 0;
            foreach (float v in x)
            {
                if (MathF.Abs(v) > amax)
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }

            float d = 0;
            if (amax >= 1e-15f)
            {
                float id = 1 / (max / Values[0]);
                float sumqx = 0, sumq2 = 0;
                for (int j = 0; j < 32; j++)
                {
                    grid[j] = (byte)IQ4Grid.NearestPoint(id * x[j]);
                    float q = Values[grid[j]];
                    float w = x[j] * x[j];
                    sumqx += w * q * x[j];
                    sumq2 += w * q * q;
                }

                d = sumq2 > 0 ? sumqx / sumq2 : 0;
            }

            ref var block = ref output[b];
            block.D = FloatConversions.SingleToHalf(d);
            for (int j = 0; j < 16; j++)
            {
                block.Qs[j] = (byte)(grid[j] | (grid[j + 16] << 4));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int IQ8PairedFormat.Quant(ref byte block, int index) =>
        Values[(Unsafe.As<byte, BlockIQ4_NL>(ref block).Qs[index & 15] >> (index >> 4 << 2)) & 0xF];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<sbyte> IQ8PairedFormat.Unpack(ref byte block) =>
        PackedQuants.Lookup(Vector256.Create(Grid()), PackedQuants.Nibbles(ref Quants(ref block)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<sbyte> First, Vector128<sbyte> Second) IQ8PairedFormat.UnpackHalves(ref byte block)
    {
        var (first, second) = PackedQuants.NibbleHalves(ref Quants(ref block));
        return (PackedQuants.Lookup(Grid(), first), PackedQuants.Lookup(Grid(), second));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<sbyte> IQ8PairedFormat.UnpackPair(ref byte block) =>
        PackedQuants.Lookup(Vector512.Create(Grid()), PackedQuants.NibblePairs(ref Quants(ref block), BlockBytes));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Grid() => Vector128.Create(Values);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref byte Quants(ref byte block) => ref Unsafe.As<byte, BlockIQ4_NL>(ref block).Qs[0];
}
