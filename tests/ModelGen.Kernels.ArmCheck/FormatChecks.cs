using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Formats;

namespace ModelGen.Kernels.ArmCheck;

/// <summary>
/// Every weight format's dot product with its activation format, every matrix-vector product, and every activation
/// quantizer, on the SIMD path against the scalar one: dots within the kernel tests' tolerance (the paths sum floats in
/// different orders), matrix-vector products equal to their rows' dots bit for bit, quantized activations byte for byte.
/// </summary>
internal static class FormatChecks
{
    /// <summary>
    /// Relative tolerance of a dot product against the sum of |w_i * a_i|, as the x86 kernel tests state it against
    /// ggml: the same products times the same scales, added in another order.
    /// </summary>
    private const double DotTolerance = 1e-5;

    public static void Run(Report report)
    {
        foreach (var type in Enum.GetValues<GgmlType>().Where(WeightFormats.IsSupported))
        {
            var check = new PairCheck(report);
            WeightFormats.Visit(type, ref check);
        }

        CheckQuantize<Q8_0>(report);
        CheckQuantize<Q8_1>(report);
        CheckQuantize<Q8_K>(report);
        CheckQuantize<F16>(report);
        CheckQuantize<BF16>(report);
    }

    /// <summary>Offsets of a block's FP16 fields, which random blocks keep finite (ggml's block structs).</summary>
    private static int[] HalfFields(GgmlType type) => type switch
    {
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        _ => [0],
    };

    /// <summary>Row lengths: odd and even block counts, so that grouped steps and their remainders both run.</summary>
    private static int[] Lengths(int blockSize) => blockSize switch
    {
        1 => [1, 3, 7, 15, 16, 31, 33, 100, 257, 1000],
        32 => [32, 64, 96, 224, 256, 288, 512, 544, 1056],
        _ => [256, 512, 768, 1280],
    };

    /// <summary>Values as weights and activations look (a few outliers) at <paramref name="scale"/>.</summary>
    private static float[] Floats(int count, int seed, float scale)
    {
        var rng = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            float g = (float)(rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5);
            values[i] = scale * (rng.Next(64) == 0 ? 8 * g : g);
        }

        return values;
    }

    /// <summary>
    /// Rows on a quantizer's edges: all zero; one huge outlier; exact ties at scale 1 (anchor 127); equal magnitudes of
    /// opposite sign; values around 1e-30.
    /// </summary>
    private static IEnumerable<float[]> EdgeRows(int count)
    {
        var rng = new Random(count);
        yield return new float[count];
        yield return Enumerable.Range(0, count).Select(j => j % 97 == 13 ? 3.0e4f : (float)(rng.NextDouble() - 0.5)).ToArray();
        yield return Enumerable.Range(0, count).Select(j => j % 32 == 7 ? 127f : rng.Next(-127, 127) + 0.5f).ToArray();
        yield return Enumerable.Range(0, count).Select(j => j % 2 == 0 ? 2.5f : -2.5f).ToArray();
        yield return Enumerable.Range(0, count).Select(j => (float)(rng.NextDouble() - 0.5) * 1e-30f).ToArray();
    }

    private struct PairCheck(Report report) : IWeightFormatVisitor
    {
        public readonly void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat
        {
            var dots = new List<float>();
            string? failure = null;
            double worst = 0;
            int seed = (int)TWeight.Type * 1000;
            foreach (int count in Lengths(Math.Max(TWeight.BlockSize, TActivation.BlockSize)))
            {
                foreach (var weights in WeightRows<TWeight>(count, ++seed))
                {
                    foreach (float scale in new[] { 1f, 300f })
                    {
                        var activations = Activations<TActivation>(Floats(count, ++seed, scale), SimdPath.Scalar);
                        float expected = TWeight.Dot(SimdPath.Scalar, weights, activations, count);
                        float actual = TWeight.Dot(report.Path, weights, activations, count);
                        dots.Add(actual);
                        double magnitude = Magnitude<TWeight, TActivation>(weights, activations, count);
                        double error = Math.Abs((double)actual - expected);
                        worst = Math.Max(worst, magnitude == 0 ? error : error / magnitude);
                        failure ??= error <= DotTolerance * magnitude ? null
                            : $"{count} elements: {actual:R}, scalar {expected:R} (difference {actual - expected:R}, sum of |w*a| {magnitude:R})";
                    }
                }
            }

            report.Add<float>($"dot-{TWeight.Type}", failure is null, dots.ToArray(),
                failure ?? $"{dots.Count} rows against {TActivation.Type}, worst {worst:0.0e0} of the sum of |w*a| (tolerance {DotTolerance:0e0})");
            MatVec<TWeight, TActivation>();
        }

        /// <summary>
        /// A matrix-vector product (the decode path, which quantizes its input and tiles its rows) against the SIMD
        /// dots of its rows one by one, bit for bit.
        /// </summary>
        private readonly unsafe void MatVec<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat
        {
            const int rows = 19;
            int columns = Lengths(Math.Max(TWeight.BlockSize, TActivation.BlockSize))[^1];
            int rowBytes = columns / TWeight.BlockSize * TWeight.BlockBytes;
            var matrix = new byte[rows * rowBytes];
            for (int r = 0; r < rows; r++)
            {
                TWeight.QuantizeReference(Floats(columns, 700 + r, 1f), matrix.AsSpan(r * rowBytes, rowBytes));
            }

            var x = Floats(columns, 799, 2f);
            var y = new float[rows];
            var scratch = new byte[MatrixKernels.ActivationBytes<TActivation>(columns)];
            fixed (byte* data = matrix)
            {
                MatrixKernels.MatVec<TWeight, TActivation>(new WeightMatrix(TWeight.Type, data, matrix.Length, rows, columns), x, y, scratch);
            }

            var activations = Activations<TActivation>(x, SimdPaths.Best);
            string? failure = null;
            for (int r = 0; r < rows; r++)
            {
                float expected = TWeight.Dot(SimdPaths.Best, matrix.AsSpan(r * rowBytes, rowBytes), activations, columns);
                failure ??= BitConverter.SingleToInt32Bits(y[r]) == BitConverter.SingleToInt32Bits(expected) ? null : $"row {r}: {y[r]:R}, its dot {expected:R}";
            }

            report.Add<float>($"matvec-{TWeight.Type}", failure is null, y, failure ?? $"{rows} rows of {columns} equal to their dots");
        }

        /// <summary>Weight rows of <paramref name="count"/> elements: quantized from random floats and edge rows, and random block bytes.</summary>
        private static IEnumerable<byte[]> WeightRows<TWeight>(int count, int seed)
            where TWeight : IBlockFormat
        {
            int bytes = count / TWeight.BlockSize * TWeight.BlockBytes;
            foreach (var values in EdgeRows(count).Prepend(Floats(count, seed, 1f)))
            {
                var row = new byte[bytes];
                TWeight.QuantizeReference(values, row);
                yield return row;
            }

            if (TWeight.BlockSize > 1)
            {
                // Every quant and sub-block scale value there is; finite FP16 scales.
                var random = new byte[bytes];
                var rng = new Random(seed);
                rng.NextBytes(random);
                for (int b = 0; b < count / TWeight.BlockSize; b++)
                {
                    foreach (int field in HalfFields(TWeight.Type))
                    {
                        var half = (Half)(float)((rng.NextDouble() - 0.5) * 0.1);
                        MemoryMarshal.Write(random.AsSpan(b * TWeight.BlockBytes + field), in half);
                    }
                }

                yield return random;
            }
        }

        private static byte[] Activations<TActivation>(float[] values, SimdPath path)
            where TActivation : IActivationFormat
        {
            var blocks = new byte[MatrixKernels.ActivationBytes<TActivation>(values.Length)];
            TActivation.Quantize(path, values, blocks);
            return blocks;
        }

        /// <summary>The sum of |w_i * a_i| over the dequantized rows: the scale of a dot's rounding error.</summary>
        private static double Magnitude<TWeight, TActivation>(byte[] weights, byte[] activations, int count)
            where TWeight : IBlockFormat
            where TActivation : IBlockFormat
        {
            var w = new float[count];
            var a = new float[count];
            TWeight.Dequantize(weights, w);
            TActivation.Dequantize(activations, a);
            double sum = 0;
            for (int i = 0; i < count; i++)
            {
                sum += Math.Abs((double)w[i] * a[i]);
            }

            return sum;
        }
    }

    /// <summary>An activation quantizer on the SIMD path against the scalar one, byte for byte.</summary>
    private static void CheckQuantize<TFormat>(Report report)
        where TFormat : IActivationFormat
    {
        var all = new List<byte>();
        string? failure = null;
        int rows = 0, seed = (int)TFormat.Type * 77;
        foreach (int count in Lengths(TFormat.BlockSize))
        {
            foreach (var values in EdgeRows(count).Concat([Floats(count, ++seed, 1e-3f), Floats(count, ++seed, 1f), Floats(count, ++seed, 200f)]))
            {
                int bytes = MatrixKernels.ActivationBytes<TFormat>(count);
                var expected = new byte[bytes];
                var actual = new byte[bytes];
                TFormat.Quantize(SimdPath.Scalar, values, expected);
                TFormat.Quantize(report.Path, values, actual);
                all.AddRange(actual);
                rows++;
                int first = expected.AsSpan().CommonPrefixLength(actual);
                failure ??= first == bytes ? null
                    : $"{count} elements: block {first / TFormat.BlockBytes} byte {first % TFormat.BlockBytes}: {actual[first]:x2}, scalar {expected[first]:x2}";
            }
        }

        report.Add<byte>($"quantize-{TFormat.Type}", failure is null, all.ToArray(), failure ?? $"{rows} rows byte for byte");
    }
}
