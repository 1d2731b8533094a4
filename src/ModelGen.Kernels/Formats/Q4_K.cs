using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q4_K</c>: eight sub-blocks of 32 weights, each <c>d * scale * q - dmin * min</c> with 4-bit q and
/// 6-bit scale and min. Byte <c>l</c> of each 32 quant bytes holds weight <c>l</c> of a 64-weight pair of
/// sub-blocks in its low nibble and weight <c>32 + l</c> in its high nibble.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4K
{
    /// <summary>Scale of the sub-block scales.</summary>
    public Half D;

    /// <summary>Scale of the sub-block mins.</summary>
    public Half DMin;

    /// <summary>Eight 6-bit scales and eight 6-bit mins (see <see cref="KQuants.PackScalesAndMins"/>).</summary>
    public Bytes12 Scales;

    /// <summary>The 4-bit quants.</summary>
    public Bytes128 Qs;
}

/// <summary>Q4_K: 4.5 bits per weight, in super-blocks of 256.</summary>
public readonly struct Q4_K : IWeightFormat<Q8_K>
{
    public static GgmlType Type => GgmlType.Q4_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ4K>();

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<Q4_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ4K block = ref KQuants.First<BlockQ4K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(block.D);
            float min = FloatConversions.HalfToSingle(block.DMin);
            KQuants.UnpackScalesAndMins(ref block.Scales[0], out ulong scales, out ulong mins);
            for (int j = 0; j < 4; j++)
            {
                float d1 = d * (byte)(scales >> (16 * j));
                float m1 = min * (byte)(mins >> (16 * j));
                float d2 = d * (byte)(scales >> (16 * j + 8));
                float m2 = min * (byte)(mins >> (16 * j + 8));
                for (int l = 0; l < 32; l++)
                {
                    y[64 * j + l] = d1 * (block.Qs[32 * j + l] & 0xF) - m1;
                    y[64 * j + 32 + l] = d2 * (block.Qs[32 * j + l] >> 4) - m2;
                }
            }
        }
    }

    /// <summary><c>quantize_row_q4_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q4_K>(values.Length, blocks.Length, nameof(blocks));
        Span<byte> quants = stackalloc byte[KQuants.BlockSize];
        ref BlockQ4K block = ref KQuants.First<BlockQ4K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            KQuantSearch.SixBitScaledQuants(
                values.Slice(i * KQuants.BlockSize, KQuants.BlockSize), nmax: 15, rmin: -1f, steps: 20,
                out block.D, out block.DMin, block.Scales, quants);
            for (int j = 0; j < 4; j++)
            {
                for (int l = 0; l < 32; l++)
                {
                    block.Qs[32 * j + l] = (byte)(quants[64 * j + l] | (quants[64 * j + 32 + l] << 4));
                }
            }
        }
    }

    public static unsafe float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        int blocks = BlockRows.Count<Q4_K>(count, weights.Length, nameof(weights));
        BlockRows.Count<Q8_K>(count, activations.Length, nameof(activations));
        ref BlockQ4K x = ref KQuants.First<BlockQ4K>(weights);
        ref BlockQ8K y = ref KQuants.First<BlockQ8K>(activations);
        if (path == SimdPath.Vector512)
        {
            fixed (byte* pinned = weights) // the 512-bit path broadcasts quants straight from memory
            {
                return Dot512((BlockQ4K*)pinned, ref y, blocks);
            }
        }

        return path switch
        {
            SimdPath.Vector256 => Dot256(ref x, ref y, blocks),
            SimdPath.Vector128 => Dot128(ref x, ref y, blocks),
            _ => DotScalar(ref x, ref y, blocks),
        };
    }

    private static float DotScalar(ref BlockQ4K x, ref BlockQ8K y, int blocks)
    {
        float sum = 0;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref x.Scales[0], out ulong scales, out ulong mins);
            int dots = 0;
            for (int j = 0; j < 4; j++)
            {
                int low = 0;
                int high = 0;
                for (int l = 0; l < 32; l++)
                {
                    low += (x.Qs[32 * j + l] & 0xF) * y.Qs[64 * j + l];
                    high += (x.Qs[32 * j + l] >> 4) * y.Qs[64 * j + 32 + l];
                }

                dots += (byte)(scales >> (16 * j)) * low + (byte)(scales >> (16 * j + 8)) * high;
            }

            sum += y.D * KQuants.HalfToSingle(x.D) * dots - y.D * KQuants.HalfToSingle(x.DMin) * KQuants.MinsDot(mins, ref y);
        }

        return sum;
    }

    // The vector paths: each 32 quant bytes hold 64 weights, low nibbles then high nibbles, against 64 contiguous
    // Q8_K quants; pmaddubsw/pmaddwd weigh each 32 by their sub-block's scale. Partial sums stay in int32 lanes (at
    // most 8 * 2*15*128 * 63 in magnitude), one float multiply-add per super-block. Scales are unpacked and
    // converted in integer registers, which the vector work leaves idle.

    private static unsafe float Dot512(BlockQ4K* x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector512<float>.Zero;
        var accMins = Vector256<float>.Zero;
        var spread0 = SubBlockScales.Indices512(0, 32);
        var spread1 = SubBlockScales.Indices512(2, 32);
        var spread2 = SubBlockScales.Indices512(4, 32);
        var spread3 = SubBlockScales.Indices512(6, 32);
        for (int i = 0; i < blocks; i++, x++, y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref x->Scales[0], out ulong scales, out ulong mins);
            var scales16 = Vector512.WidenLower(Vector512.CreateScalar(scales).AsByte()).AsInt16();
            byte* qs = (byte*)&x->Qs;
            ref sbyte q8 = ref y.Qs[0];
            var sums = ScaledByteDot.MultiplyAddU8S8(WideNibbles.Unpack512(qs), Vector512.LoadUnsafe(ref q8), WordShuffle.Permute(scales16, spread0))
                + ScaledByteDot.MultiplyAddU8S8(WideNibbles.Unpack512(qs + 32), Vector512.LoadUnsafe(ref q8, 64), WordShuffle.Permute(scales16, spread1))
                + ScaledByteDot.MultiplyAddU8S8(WideNibbles.Unpack512(qs + 64), Vector512.LoadUnsafe(ref q8, 128), WordShuffle.Permute(scales16, spread2))
                + ScaledByteDot.MultiplyAddU8S8(WideNibbles.Unpack512(qs + 96), Vector512.LoadUnsafe(ref q8, 192), WordShuffle.Permute(scales16, spread3));
            acc = Vector512.FusedMultiplyAdd(Vector512.Create(y.D * KQuants.HalfToSingle(x->D)), Vector512.ConvertToSingle(sums), acc);
            accMins = Vector256.FusedMultiplyAdd(
                Vector256.Create(-y.D * KQuants.HalfToSingle(x->DMin)), Vector256.ConvertToSingle(KQuants.MinsDot256(mins, ref y)), accMins);
        }

        return Vector512.Sum(acc) + Vector256.Sum(accMins);
    }

    private static float Dot256(ref BlockQ4K x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector256<float>.Zero;
        var accMins = Vector256<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref x.Scales[0], out ulong scales, out ulong mins);
            ref byte qs = ref x.Qs[0];
            ref sbyte q8 = ref y.Qs[0];
            var sums = Vector256<int>.Zero;
            for (int j = 0; j < 4; j++)
            {
                var (low, high) = WideNibbles.Unpack256(ref Unsafe.Add(ref qs, 32 * j));
                sums += ScaledByteDot.MultiplyAddU8S8(low, Vector256.LoadUnsafe(ref q8, (nuint)(64 * j)), Vector256.Create((short)(byte)(scales >> (16 * j))))
                    + ScaledByteDot.MultiplyAddU8S8(high, Vector256.LoadUnsafe(ref q8, (nuint)(64 * j + 32)), Vector256.Create((short)(byte)(scales >> (16 * j + 8))));
            }

            acc = Vector256.FusedMultiplyAdd(Vector256.Create(y.D * KQuants.HalfToSingle(x.D)), Vector256.ConvertToSingle(sums), acc);
            accMins = Vector256.FusedMultiplyAdd(
                Vector256.Create(-y.D * KQuants.HalfToSingle(x.DMin)), Vector256.ConvertToSingle(KQuants.MinsDot256(mins, ref y)), accMins);
        }

        return Vector256.Sum(acc) + Vector256.Sum(accMins);
    }

    private static float Dot128(ref BlockQ4K x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector128<float>.Zero;
        var accMins = Vector128<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            KQuants.UnpackScalesAndMins(ref x.Scales[0], out ulong scales, out ulong mins);
            ref byte qs = ref x.Qs[0];
            ref sbyte q8 = ref y.Qs[0];
            var sums = Vector128<int>.Zero;
            for (int j = 0; j < 4; j++)
            {
                var low = Vector128.Create((short)(byte)(scales >> (16 * j)));
                var high = Vector128.Create((short)(byte)(scales >> (16 * j + 8)));
                for (int half = 0; half < 32; half += 16)
                {
                    var (lowQuants, highQuants) = WideNibbles.Unpack128(ref Unsafe.Add(ref qs, 32 * j + half));
                    sums += ScaledByteDot.MultiplyAddU8S8(lowQuants, Vector128.LoadUnsafe(ref q8, (nuint)(64 * j + half)), low)
                        + ScaledByteDot.MultiplyAddU8S8(highQuants, Vector128.LoadUnsafe(ref q8, (nuint)(64 * j + 32 + half)), high);
                }
            }

            acc = Vector128.FusedMultiplyAdd(Vector128.Create(y.D * KQuants.HalfToSingle(x.D)), Vector128.ConvertToSingle(sums), acc);
            accMins = Vector128.FusedMultiplyAdd(
                Vector128.Create(-y.D * KQuants.HalfToSingle(x.DMin)), Vector128.ConvertToSingle(KQuants.MinsDot128(mins, ref y)), accMins);
        }

        return Vector128.Sum(acc) + Vector128.Sum(accMins);
    }
}
