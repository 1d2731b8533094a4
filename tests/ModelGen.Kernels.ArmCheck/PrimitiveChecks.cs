using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ModelGen.Kernels.Simd;

namespace ModelGen.Kernels.ArmCheck;

/// <summary>
/// The integer steps the quantized kernels are built from, on random vectors and on the extremes of the ranges their
/// callers guarantee, against exact scalar arithmetic: every path must give the same integers.
/// </summary>
internal static class PrimitiveChecks
{
    private const int Trials = 4096;

    public static void Run(Report report)
    {
        // ggml's int8 quantizers give [-127, 127]; weights from a file may hold -128 as the first operand.
        CheckByteDot(report, "byte-dot-s8s8", -128, 127, -127, 127, (a, b) => ByteDot.MultiplyAddS8S8(a, b));

        // Unsigned quants are at most 63 in every caller (below 128 is what the arm64 path needs).
        CheckByteDot(report, "byte-dot-u8s8", 0, 127, -128, 127, (a, b) => ByteDot.MultiplyAddU8S8(a.AsByte(), b));
        foreach (byte center in new byte[] { 8, 16 })
        {
            CheckByteDot(report, $"byte-dot-centered-{center}", 0, 63, -128, 127,
                (a, b) => ByteDot.MultiplyAddCenteredU8S8(a.AsByte(), center, b), center);
        }

        CheckScaledByteDot(report, "scaled-byte-dot-u8s8", 0, 63, -128, 127, (a, b, s) => ScaledByteDot.MultiplyAddU8S8(a.AsByte(), b, s));
        CheckScaledByteDot(report, "scaled-byte-dot-s8s8", -127, 127, -127, 127, (a, b, s) => ScaledByteDot.MultiplyAddS8S8(a, b, s));
        CheckWordDot(report);
        CheckNibbles(report);
        CheckLookup(report);
        CheckSubBlockScales(report);
        CheckRounding(report);
    }

    /// <summary>Sums of four adjacent products, operands drawn from the two ranges, the first operand less <paramref name="center"/>.</summary>
    private static void CheckByteDot(
        Report report, string name, int aMin, int aMax, int bMin, int bMax,
        Func<Vector128<sbyte>, Vector128<sbyte>, Vector128<int>> step, int center = 0)
    {
        var results = new List<int>();
        string? failure = null;
        foreach (var (a, b) in BytePairs(aMin, aMax, bMin, bMax))
        {
            var actual = step(Vector128.Create(a), Vector128.Create(b));
            for (int lane = 0; lane < 4; lane++)
            {
                int expected = 0;
                for (int k = 4 * lane; k < 4 * lane + 4; k++)
                {
                    expected += (a[k] - center) * b[k];
                }

                results.Add(actual[lane]);
                failure ??= actual[lane] == expected ? null : $"lane {lane} of [{string.Join(',', a)}] x [{string.Join(',', b)}]: {actual[lane]}, expected {expected}";
            }
        }

        report.Add<int>(name, failure is null, results.ToArray(), failure ?? $"{results.Count} lanes exact");
    }

    private static void CheckScaledByteDot(
        Report report, string name, int aMin, int aMax, int bMin, int bMax,
        Func<Vector128<sbyte>, Vector128<sbyte>, Vector128<short>, Vector128<int>> step)
    {
        var rng = new Random(name.Length);
        var results = new List<int>();
        string? failure = null;
        foreach (var (a, b) in BytePairs(aMin, aMax, bMin, bMax))
        {
            // A scale per int32 lane, in both of its int16 halves, as the K-quant kernels broadcast them.
            var scale = new short[4];
            for (int lane = 0; lane < 4; lane++)
            {
                scale[lane] = (short)rng.Next(-128, 128);
            }

            var scales = Vector128.Create(scale[0], scale[0], scale[1], scale[1], scale[2], scale[2], scale[3], scale[3]);
            var actual = step(Vector128.Create(a), Vector128.Create(b), scales);
            for (int lane = 0; lane < 4; lane++)
            {
                int expected = 0;
                for (int k = 4 * lane; k < 4 * lane + 4; k++)
                {
                    expected += a[k] * b[k];
                }

                expected *= scale[lane];
                results.Add(actual[lane]);
                failure ??= actual[lane] == expected ? null : $"lane {lane} of [{string.Join(',', a)}] x [{string.Join(',', b)}] x {scale[lane]}: {actual[lane]}, expected {expected}";
            }
        }

        report.Add<int>(name, failure is null, results.ToArray(), failure ?? $"{results.Count} lanes exact");
    }

    /// <summary>Random pairs of byte vectors, then each operand at both ends of its range against the other's ends.</summary>
    private static IEnumerable<(sbyte[] A, sbyte[] B)> BytePairs(int aMin, int aMax, int bMin, int bMax)
    {
        var rng = new Random(aMin * 1000 + aMax * 10 + bMin);
        for (int t = 0; t < Trials; t++)
        {
            var a = new sbyte[16];
            var b = new sbyte[16];
            for (int k = 0; k < 16; k++)
            {
                a[k] = (sbyte)rng.Next(aMin, aMax + 1);
                b[k] = (sbyte)rng.Next(bMin, bMax + 1);
            }

            yield return (a, b);
        }

        foreach (int x in new[] { aMin, aMax })
        {
            foreach (int y in new[] { bMin, bMax })
            {
                yield return (Enumerable.Repeat((sbyte)x, 16).ToArray(), Enumerable.Repeat((sbyte)y, 16).ToArray());
            }
        }
    }

    /// <summary><c>pmaddwd</c>'s arithmetic over the whole int16 range; 2 * (-32768)^2 wraps to int.MinValue on every path.</summary>
    private static void CheckWordDot(Report report)
    {
        var rng = new Random(16);
        var results = new List<int>();
        string? failure = null;
        for (int t = 0; t < Trials + 2; t++)
        {
            var a = new short[8];
            var b = new short[8];
            for (int k = 0; k < 8; k++)
            {
                a[k] = t == Trials ? short.MinValue : t == Trials + 1 ? short.MaxValue : (short)rng.Next(short.MinValue, short.MaxValue + 1);
                b[k] = t >= Trials ? short.MinValue : (short)rng.Next(short.MinValue, short.MaxValue + 1);
            }

            var actual = WordDot.MultiplyAdd(Vector128.Create(a), Vector128.Create(b));
            for (int lane = 0; lane < 4; lane++)
            {
                int expected = unchecked(a[2 * lane] * b[2 * lane] + a[2 * lane + 1] * b[2 * lane + 1]);
                results.Add(actual[lane]);
                failure ??= actual[lane] == expected ? null : $"lane {lane} of [{string.Join(',', a)}] x [{string.Join(',', b)}]: {actual[lane]}, expected {expected}";
            }
        }

        report.Add<int>("word-dot", failure is null, results.ToArray(), failure ?? $"{results.Count} lanes exact");
    }

    /// <summary>The 4-bit unpacking: low nibbles are elements 0 to 15, high nibbles 16 to 31.</summary>
    private static void CheckNibbles(Report report)
    {
        var packed = new byte[16 * Trials];
        new Random(4).NextBytes(packed);
        packed.AsSpan(0, 16).Fill(0xFF);
        var results = new byte[2 * packed.Length];
        string? failure = null;
        for (int t = 0; t < Trials; t++)
        {
            var (first, second) = PackedQuants.NibbleHalves(ref packed[16 * t]);
            for (int j = 0; j < 16; j++)
            {
                byte b = packed[16 * t + j];
                results[32 * t + j] = first[j];
                results[32 * t + 16 + j] = second[j];
                failure ??= first[j] == (b & 0xF) && second[j] == b >> 4 ? null : $"byte {b:x2}: nibbles {first[j]:x}, {second[j]:x}";
            }
        }

        report.Add<byte>("nibbles", failure is null, results, failure ?? $"{Trials} blocks of 32 nibbles");
    }

    /// <summary>The 16-entry table lookup that maps IQ4 nibbles to grid values and K-quant scales to lanes.</summary>
    private static void CheckLookup(Report report)
    {
        var rng = new Random(5);
        var results = new List<sbyte>();
        string? failure = null;
        for (int t = 0; t < Trials; t++)
        {
            var table = new sbyte[16];
            var indices = new byte[16];
            rng.NextBytes(MemoryMarshal.AsBytes(table.AsSpan()));
            for (int k = 0; k < 16; k++)
            {
                indices[k] = (byte)rng.Next(16);
            }

            var actual = PackedQuants.Lookup(Vector128.Create(table), Vector128.Create(indices));
            for (int k = 0; k < 16; k++)
            {
                results.Add(actual[k]);
                failure ??= actual[k] == table[indices[k]] ? null : $"index {indices[k]}: {actual[k]}, expected {table[indices[k]]}";
            }
        }

        report.Add<sbyte>("table-lookup", failure is null, results.ToArray(), failure ?? $"{results.Count} bytes");
    }

    private static void CheckSubBlockScales(Report report)
    {
        var rng = new Random(6);
        var results = new List<short>();
        string? failure = null;
        for (int t = 0; t < Trials / 8; t++)
        {
            var scales = new short[8];
            for (int k = 0; k < 8; k++)
            {
                scales[k] = (short)rng.Next(short.MinValue, short.MaxValue + 1);
            }

            for (int index = 0; index < 8; index++)
            {
                var actual = SubBlockScales.Broadcast(Vector128.Create(scales), index);
                for (int k = 0; k < 8; k++)
                {
                    results.Add(actual[k]);
                    failure ??= actual[k] == scales[index] ? null : $"scale {index} in lane {k}: {actual[k]}, expected {scales[index]}";
                }
            }
        }

        report.Add<short>("sub-block-scales", failure is null, results.ToArray(), failure ?? $"{Trials} broadcasts");
    }

    /// <summary>The activation quantizers' rounding, ties to even, on random products and on exact ties.</summary>
    private static void CheckRounding(Report report)
    {
        var rng = new Random(7);
        var values = new float[4 * Trials];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = i % 3 == 0 ? rng.Next(-128, 128) + 0.5f : (float)(rng.NextDouble() * 256 - 128);
        }

        var results = new int[values.Length];
        string? failure = null;
        for (int i = 0; i < values.Length; i += 4)
        {
            var actual = Int8BlockQuantizer.RoundToInt32(Vector128.Create(values, i));
            actual.CopyTo(results, i);
            for (int k = 0; k < 4; k++)
            {
                int expected = (int)MathF.Round(values[i + k], MidpointRounding.ToEven);
                failure ??= actual[k] == expected ? null : $"{values[i + k]:R}: {actual[k]}, expected {expected}";
            }
        }

        report.Add<int>("round-to-even", failure is null, results, failure ?? $"{values.Length} values, a third of them ties");
    }
}
