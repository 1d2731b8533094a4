using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Gguf;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.Formats;

/// <summary>ggml's <c>block_q8_K</c>: 256 int8 quants of one float scale, with the sums of each 16 quants.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ8K
{
    /// <summary>The scale: element <c>i</c> is <c>D * Qs[i]</c>.</summary>
    public float D;

    /// <summary>The quants, in [-127, 127].</summary>
    public SBytes256 Qs;

    /// <summary>Sums of quants 16i to 16i+15, for the kernels of formats with per-group mins or offsets.</summary>
    public Shorts16 BSums;
}

/// <summary>
/// Q8_K, the activation format of every K-quant and IQ4_XS (ggml's <c>vec_dot_type</c>): symmetric int8 with the
/// scale chosen so that the element of largest magnitude becomes -127.
/// </summary>
public readonly struct Q8_K : IActivationFormat
{
    public static GgmlType Type => GgmlType.Q8_K;

    public static int BlockSize => KQuants.BlockSize;

    public static int BlockBytes => Unsafe.SizeOf<BlockQ8K>();

    public static void Dequantize(ReadOnlySpan<byte> blocks, Span<float> values)
    {
        int count = BlockRows.Count<Q8_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ8K block = ref KQuants.First<BlockQ8K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var y = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            ReadOnlySpan<sbyte> quants = block.Qs;
            for (int j = 0; j < y.Length; j++)
            {
                y[j] = block.D * quants[j];
            }
        }
    }

    /// <summary><c>quantize_row_q8_K_ref</c>, which is also what ggml's CPU backend runs (its x86 <c>quantize_row_q8_K</c> calls it).</summary>
    public static void QuantizeReference(ReadOnlySpan<float> values, Span<byte> blocks) => Quantize(SimdPath.Scalar, values, blocks);

    public static void Quantize(SimdPath path, ReadOnlySpan<float> values, Span<byte> blocks)
    {
        int count = BlockRows.Count<Q8_K>(values.Length, blocks.Length, nameof(blocks));
        ref BlockQ8K block = ref KQuants.First<BlockQ8K>(blocks);
        for (int i = 0; i < count; i++, block = ref Unsafe.Add(ref block, 1))
        {
            var x = values.Slice(i * KQuants.BlockSize, KQuants.BlockSize);
            float max = MaxByMagnitude(path, x, out float amax);
            if (amax == 0)
            {
                block = default; // ggml leaves the sums as the buffer had them: zeros, for a fresh buffer
                continue;
            }

            // -127, not -128: quants that kernels can negate (psignb) without overflow.
            float iscale = -127f / max;
            switch (path)
            {
                case SimdPath.Vector512:
                    Quantize512(x, iscale, ref block);
                    break;
                case SimdPath.Vector256:
                    Quantize256(x, iscale, ref block);
                    break;
                case SimdPath.Vector128:
                    Quantize128(x, iscale, ref block);
                    break;
                default:
                    QuantizeScalar(x, iscale, ref block);
                    break;
            }

            block.D = 1 / iscale;
        }
    }

    /// <summary>
    /// The first element of largest magnitude, as <see cref="ScalarQuantization.SignedMaximum"/>, found with vectors
    /// (128-bit for every vector path: the search is a small part of the work).
    /// </summary>
    private static float MaxByMagnitude(SimdPath path, ReadOnlySpan<float> x, out float amax)
    {
        if (path == SimdPath.Scalar)
        {
            float max = ScalarQuantization.SignedMaximum(x);
            amax = MathF.Abs(max);
            return max;
        }

        ref float first = ref MemoryMarshal.GetReference(x);
        var magnitudes = Vector128<float>.Zero;
        for (int j = 0; j < KQuants.BlockSize; j += Vector128<float>.Count)
        {
            magnitudes = Vector128.Max(magnitudes, Vector128.Abs(Vector128.LoadUnsafe(ref first, (nuint)j)));
        }

        amax = HorizontalMax(magnitudes);
        if (amax == 0)
        {
            return 0;
        }

        var target = Vector128.Create(amax);
        for (int j = 0; ; j += Vector128<float>.Count)
        {
            uint found = Vector128.Equals(Vector128.Abs(Vector128.LoadUnsafe(ref first, (nuint)j)), target).ExtractMostSignificantBits();
            if (found != 0)
            {
                return Unsafe.Add(ref first, j + BitOperations.TrailingZeroCount(found));
            }
        }
    }

    private static float HorizontalMax(Vector128<float> v)
    {
        v = Vector128.Max(v, Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(v.GetElement(0), v.GetElement(1));
    }

    private static void QuantizeScalar(ReadOnlySpan<float> x, float iscale, ref BlockQ8K block)
    {
        Span<sbyte> quants = block.Qs;
        for (int j = 0; j < quants.Length; j++)
        {
            quants[j] = (sbyte)Math.Min(127, KQuants.NearestInt(iscale * x[j]));
        }

        for (int g = 0; g < KQuants.BlockSize / 16; g++)
        {
            int sum = 0;
            foreach (sbyte q in quants.Slice(16 * g, 16))
            {
                sum += q;
            }

            block.BSums[g] = (short)sum;
        }
    }

    // The vector paths round iscale * x to nearest even, which nearest_int computes for |iscale * x| <= 127.

    private static void Quantize512(ReadOnlySpan<float> x, float iscale, ref BlockQ8K block)
    {
        ref float source = ref MemoryMarshal.GetReference(x);
        ref sbyte quants = ref block.Qs[0];
        var scale = Vector512.Create(iscale);
        for (int j = 0; j < KQuants.BlockSize; j += 64)
        {
            var q0 = Round(scale * Vector512.LoadUnsafe(ref source, (nuint)j));
            var q1 = Round(scale * Vector512.LoadUnsafe(ref source, (nuint)j + 16));
            var q2 = Round(scale * Vector512.LoadUnsafe(ref source, (nuint)j + 32));
            var q3 = Round(scale * Vector512.LoadUnsafe(ref source, (nuint)j + 48));
            block.BSums[j / 16] = (short)Vector512.Sum(q0);
            block.BSums[j / 16 + 1] = (short)Vector512.Sum(q1);
            block.BSums[j / 16 + 2] = (short)Vector512.Sum(q2);
            block.BSums[j / 16 + 3] = (short)Vector512.Sum(q3);
            Vector512.Narrow(Vector512.Narrow(q0, q1), Vector512.Narrow(q2, q3)).StoreUnsafe(ref quants, (nuint)j);
        }

        static Vector512<int> Round(Vector512<float> scaled) =>
            Vector512.Min(Vector512.ConvertToInt32(Vector512.Round(scaled)), Vector512.Create(127));
    }

    private static void Quantize256(ReadOnlySpan<float> x, float iscale, ref BlockQ8K block)
    {
        ref float source = ref MemoryMarshal.GetReference(x);
        ref sbyte quants = ref block.Qs[0];
        var scale = Vector256.Create(iscale);
        for (int j = 0; j < KQuants.BlockSize; j += 32)
        {
            var q0 = Round(scale * Vector256.LoadUnsafe(ref source, (nuint)j));
            var q1 = Round(scale * Vector256.LoadUnsafe(ref source, (nuint)j + 8));
            var q2 = Round(scale * Vector256.LoadUnsafe(ref source, (nuint)j + 16));
            var q3 = Round(scale * Vector256.LoadUnsafe(ref source, (nuint)j + 24));
            block.BSums[j / 16] = (short)Vector256.Sum(q0 + q1);
            block.BSums[j / 16 + 1] = (short)Vector256.Sum(q2 + q3);
            Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref quants, (nuint)j);
        }

        static Vector256<int> Round(Vector256<float> scaled) =>
            Vector256.Min(Vector256.ConvertToInt32(Vector256.Round(scaled)), Vector256.Create(127));
    }

    private static void Quantize128(ReadOnlySpan<float> x, float iscale, ref BlockQ8K block)
    {
        ref float source = ref MemoryMarshal.GetReference(x);
        ref sbyte quants = ref block.Qs[0];
        var scale = Vector128.Create(iscale);
        for (int j = 0; j < KQuants.BlockSize; j += 16)
        {
            var q0 = Round(scale * Vector128.LoadUnsafe(ref source, (nuint)j));
            var q1 = Round(scale * Vector128.LoadUnsafe(ref source, (nuint)j + 4));
            var q2 = Round(scale * Vector128.LoadUnsafe(ref source, (nuint)j + 8));
            var q3 = Round(scale * Vector128.LoadUnsafe(ref source, (nuint)j + 12));
            block.BSums[j / 16] = (short)Vector128.Sum(q0 + q1 + q2 + q3);
            Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).StoreUnsafe(ref quants, (nuint)j);
        }

        static Vector128<int> Round(Vector128<float> scaled) =>
            Vector128.Min(Int8BlockQuantizer.RoundToInt32(scaled), Vector128.Create(127));
    }
}
