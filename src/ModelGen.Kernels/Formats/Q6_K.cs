using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>
/// ggml's <c>block_q6_K</c>: sixteen sub-blocks of 16 weights, each <c>d * scale * (q - 32)</c> with 6-bit q and
/// 8-bit signed scale. In each half of 128 weights, weight <c>32k + l</c> (<c>l</c> &lt; 32) has its low four bits
/// in <c>Ql[l + 32 (k % 2)]</c> (low nibble for k &lt; 2, else high) and its top two in bits <c>2k, 2k+1</c> of <c>Qh[l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ6K
{
    /// <summary>The low four bits of the quants, 64 bytes per half.</summary>
    public Bytes128 Ql;

    /// <summary>The top two bits of the quants, 32 bytes per half.</summary>
    public Bytes64 Qh;

    /// <summary>The sub-block scales.</summary>
    public SBytes16 Scales;

    /// <summary>The super-block scale.</summary>
    public Half D;
}

/// <summary>Q6_K: 6.5625 bits per weight, in super-blocks of 256.</summary>
public readonly unsafe struct Q6_K : IWeightFormat<Q8_K>
{
    public static GgmlType Type => GgmlType.Q6_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ6K>();

    /// <summary><c>dequantize_row_q6_K</c>: <c>(d * scale) * (q - 32)</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<Q6_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ6K block = ref KQuants.First<BlockQ6K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float d = FloatConversions.HalfToSingle(block.D);
            for (int l = 0; l < y.Length; l++)
            {
                y[l] = d * block.Scales[l / 16] * (Quant(ref block, l) - 32);
            }
        }
    }

    /// <summary><c>quantize_row_q6_K_ref</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q6_K>(values.Length, blocks.Length, nameof(blocks));
        Span<sbyte> quants = stackalloc sbyte[KQuants.BlockSize];
        Span<float> scales = stackalloc float[KQuants.BlockSize / 16];
        ref BlockQ6K block = ref KQuants.First<BlockQ6K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var x = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int j = 0; j < scales.Length; j++)
            {
                scales[j] = KQuantSearch.SymmetricQuants(32, x.Slice(16 * j, 16), quants.Slice(16 * j, 16));
                if (MathF.Abs(scales[j]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[j]);
                    maxScale = scales[j];
                }
            }

            if (maxAbsScale < KQuants.GroupMaxEps)
            {
                block = default;
                continue;
            }

            float iscale = -128f / maxScale;
            block.D = FloatConversions.SingleToHalf(1 / iscale);
            for (int j = 0; j < scales.Length; j++)
            {
                block.Scales[j] = (sbyte)Math.Min(127, KQuants.NearestInt(iscale * scales[j]));
            }

            float superScale = FloatConversions.HalfToSingle(block.D);
            for (int j = 0; j < scales.Length; j++)
            {
                float d = superScale * block.Scales[j];
                if (d == 0)
                {
                    continue; // ggml keeps the search's quants
                }

                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    quants[l] = (sbyte)(Math.Clamp(KQuants.NearestInt(x[l] / d), -32, 31) + 32);
                }
            }

            for (int half = 0; half < 2; half++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int q0 = quants[128 * half + l];
                    int q1 = quants[128 * half + 32 + l];
                    int q2 = quants[128 * half + 64 + l];
                    int q3 = quants[128 * half + 96 + l];
                    block.Ql[64 * half + l] = (byte)((q0 & 0xF) | ((q2 & 0xF) << 4));
                    block.Ql[64 * half + 32 + l] = (byte)((q1 & 0xF) | ((q3 & 0xF) << 4));
                    block.Qh[32 * half + l] = (byte)((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
                }
            }
        }
    }

    /// <summary><c>ggml_vec_dot_q6_K_q8_K</c>.</summary>
    public static float Dot(SimdPath path, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int count)
    {
        int blocks = BlockRows.Count<Q6_K>(count, weights.Length, nameof(weights));
        BlockRows.Count<Q8_K>(count, activations.Length, nameof(activations));
        ref BlockQ8K y = ref KQuants.First<BlockQ8K>(activations);
        if (path == SimdPath.Vector512)
        {
            fixed (byte* pinned = weights)
            {
                return Dot512((BlockQ6K*)pinned, ref y, blocks);
            }
        }

        ref BlockQ6K x = ref KQuants.First<BlockQ6K>(weights);
        return path switch
        {
            SimdPath.Vector256 => Dot256(ref x, ref y, blocks),
            SimdPath.Vector128 => Dot128(ref x, ref y, blocks),
            _ => DotScalar(ref x, ref y, blocks),
        };
    }

    /// <summary>Quant <paramref name="index"/> (0 to 255), in [0, 63].</summary>
    private static int Quant(ref BlockQ6K block, int index)
    {
        int half = index / 128;
        int k = index % 128 / 32;
        int l = index % 32;
        int packed = block.Ql[64 * half + 32 * (k % 2) + l];
        int low = k < 2 ? packed & 0xF : packed >> 4;
        return low | ((block.Qh[32 * half + l] >> (2 * k) & 3) << 4);
    }

    private static float DotScalar(ref BlockQ6K x, ref BlockQ8K y, int blocks)
    {
        float sum = 0;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            ReadOnlySpan<sbyte> q8 = y.Qs;
            int dots = 0;
            for (int j = 0; j < 16; j++)
            {
                int dot = 0;
                for (int l = 16 * j; l < 16 * j + 16; l++)
                {
                    dot += (Quant(ref x, l) - 32) * q8[l];
                }

                dots += x.Scales[j] * dot;
            }

            sum += y.D * KQuants.HalfToSingle(x.D) * dots;
        }

        return sum;
    }

    // The vector paths multiply the unsigned quants (q in [0, 63]: pairs of products at most 2*63*128) and take
    // 32 * sum(scale * Q8_K's sums of 16) off at the end, instead of subtracting 32 from every quant.

    private static float Dot512(BlockQ6K* x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector512<float>.Zero;
        var spread0 = SubBlockScales.Indices512(0, 16);
        var spread1 = SubBlockScales.Indices512(4, 16);
        var spread2 = SubBlockScales.Indices512(8, 16);
        var spread3 = SubBlockScales.Indices512(12, 16);
        for (int i = 0; i < blocks; i++, x++, y = ref Unsafe.Add(ref y, 1))
        {
            var scales16 = Vector512.WidenLower(Vector128.LoadUnsafe(ref x->Scales[0]).ToVector256Unsafe().ToVector512Unsafe());
            ref sbyte q8 = ref y.Qs[0];
            var (q0, q1) = Quants512(x, 0);
            var (q2, q3) = Quants512(x, 1);
            var sums = ScaledByteDot.MultiplyAddU8S8(q0, Vector512.LoadUnsafe(ref q8), WordShuffle.Permute(scales16, spread0))
                + ScaledByteDot.MultiplyAddU8S8(q1, Vector512.LoadUnsafe(ref q8, 64), WordShuffle.Permute(scales16, spread1))
                + ScaledByteDot.MultiplyAddU8S8(q2, Vector512.LoadUnsafe(ref q8, 128), WordShuffle.Permute(scales16, spread2))
                + ScaledByteDot.MultiplyAddU8S8(q3, Vector512.LoadUnsafe(ref q8, 192), WordShuffle.Permute(scales16, spread3));
            var offsets = WordDot.MultiplyAdd(Vector256.LoadUnsafe(ref y.BSums[0]), scales16.GetLower()) << 5;
            acc = Vector512.FusedMultiplyAdd(Vector512.Create(y.D * KQuants.HalfToSingle(x->D)), Vector512.ConvertToSingle(sums - offsets.ToVector512()), acc);
        }

        return Vector512.Sum(acc);
    }

    /// <summary>The quants of weights 128h to 128h+63, and of 128h+64 to 128h+127.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> First, Vector512<byte> Second) Quants512(BlockQ6K* x, int half)
    {
        var low = Vector512.Load((byte*)&x->Ql + 64 * half);
        byte* qh = (byte*)&x->Qh + 32 * half;
        var lowBits = Vector512.Create((byte)0x0F);
        return (
            Vector512.ConditionalSelect(lowBits, low, BitFields.Spread512(qh, first: 0, second: 2, width: 2, target: 4)),
            Vector512.ConditionalSelect(lowBits, (low.AsUInt16() >> 4).AsByte(), BitFields.Spread512(qh, first: 4, second: 6, width: 2, target: 4)));
    }

    private static float Dot256(ref BlockQ6K x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            var scales = Vector128.LoadUnsafe(ref x.Scales[0]);
            ref sbyte q8 = ref y.Qs[0];
            var sums = Vector256<int>.Zero;
            for (int half = 0; half < 2; half++)
            {
                var first = Vector256.LoadUnsafe(ref x.Ql[64 * half]);
                var second = Vector256.LoadUnsafe(ref x.Ql[64 * half + 32]);
                var high = Vector256.LoadUnsafe(ref x.Qh[32 * half]);
                var lowBits = Vector256.Create((byte)0x0F);
                sums += ScaledByteDot.MultiplyAddU8S8(Vector256.ConditionalSelect(lowBits, first, BitFields.Field(high, 0, 2, 4)), Vector256.LoadUnsafe(ref q8, (nuint)(128 * half)), ScalePair256(scales, 8 * half))
                    + ScaledByteDot.MultiplyAddU8S8(Vector256.ConditionalSelect(lowBits, second, BitFields.Field(high, 2, 2, 4)), Vector256.LoadUnsafe(ref q8, (nuint)(128 * half + 32)), ScalePair256(scales, 8 * half + 2))
                    + ScaledByteDot.MultiplyAddU8S8(Vector256.ConditionalSelect(lowBits, (first.AsUInt16() >> 4).AsByte(), BitFields.Field(high, 4, 2, 4)), Vector256.LoadUnsafe(ref q8, (nuint)(128 * half + 64)), ScalePair256(scales, 8 * half + 4))
                    + ScaledByteDot.MultiplyAddU8S8(Vector256.ConditionalSelect(lowBits, (second.AsUInt16() >> 4).AsByte(), BitFields.Field(high, 6, 2, 4)), Vector256.LoadUnsafe(ref q8, (nuint)(128 * half + 96)), ScalePair256(scales, 8 * half + 6));
            }

            var offsets = WordDot.MultiplyAdd(Vector256.LoadUnsafe(ref y.BSums[0]), Vector256.WidenLower(scales.ToVector256Unsafe())) << 5;
            acc = Vector256.FusedMultiplyAdd(Vector256.Create(y.D * KQuants.HalfToSingle(x.D)), Vector256.ConvertToSingle(sums - offsets), acc);
        }

        return Vector256.Sum(acc);
    }

    private static float Dot128(ref BlockQ6K x, ref BlockQ8K y, int blocks)
    {
        var acc = Vector128<float>.Zero;
        for (int i = 0; i < blocks; i++, x = ref Unsafe.Add(ref x, 1), y = ref Unsafe.Add(ref y, 1))
        {
            var scales = Vector128.LoadUnsafe(ref x.Scales[0]);
            ref sbyte q8 = ref y.Qs[0];
            var sums = Vector128<int>.Zero;
            for (int half = 0; half < 2; half++)
            {
                for (int offset = 0; offset < 32; offset += 16)
                {
                    var first = Vector128.LoadUnsafe(ref x.Ql[64 * half + offset]);
                    var second = Vector128.LoadUnsafe(ref x.Ql[64 * half + 32 + offset]);
                    var high = Vector128.LoadUnsafe(ref x.Qh[32 * half + offset]);
                    var lowBits = Vector128.Create((byte)0x0F);
                    int sub = 8 * half + offset / 16;
                    ref sbyte q8Part = ref Unsafe.Add(ref q8, 128 * half + offset);
                    sums += ScaledByteDot.MultiplyAddU8S8(Vector128.ConditionalSelect(lowBits, first, BitFields.Field(high, 0, 2, 4)), Vector128.LoadUnsafe(ref q8Part), Vector128.Create((short)x.Scales[sub]))
                        + ScaledByteDot.MultiplyAddU8S8(Vector128.ConditionalSelect(lowBits, second, BitFields.Field(high, 2, 2, 4)), Vector128.LoadUnsafe(ref q8Part, 32), Vector128.Create((short)x.Scales[sub + 2]))
                        + ScaledByteDot.MultiplyAddU8S8(Vector128.ConditionalSelect(lowBits, (first.AsUInt16() >> 4).AsByte(), BitFields.Field(high, 4, 2, 4)), Vector128.LoadUnsafe(ref q8Part, 64), Vector128.Create((short)x.Scales[sub + 4]))
                        + ScaledByteDot.MultiplyAddU8S8(Vector128.ConditionalSelect(lowBits, (second.AsUInt16() >> 4).AsByte(), BitFields.Field(high, 6, 2, 4)), Vector128.LoadUnsafe(ref q8Part, 96), Vector128.Create((short)x.Scales[sub + 6]));
                }
            }

            var (lowerScales, upperScales) = Vector128.Widen(scales);
            var offsets = (WordDot.MultiplyAdd(Vector128.LoadUnsafe(ref y.BSums[0]), lowerScales) + WordDot.MultiplyAdd(Vector128.LoadUnsafe(ref y.BSums[8]), upperScales)) << 5;
            acc = Vector128.FusedMultiplyAdd(Vector128.Create(y.D * KQuants.HalfToSingle(x.D)), Vector128.ConvertToSingle(sums - offsets), acc);
        }

        return Vector128.Sum(acc);
    }

    /// <summary>Scale <paramref name="first"/> in the eight int16 lanes of the lower 128 bits, scale <paramref name="first"/> + 1 in the upper.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScalePair256(Vector128<sbyte> scales, int first)
    {
        var pair = Vector128.Shuffle(scales, Vector128.Create((sbyte)first) + Vector128.Create((sbyte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        return Vector256.WidenLower(pair.ToVector256Unsafe());
    }
}
