using System.Diagnostics;
using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Kernels.Threading;

namespace ModelGen.Benchmarks;

/// <summary>
/// A quick Stopwatch sweep of <see cref="MatrixKernels.MatVec(in WeightMatrix, ReadOnlySpan{float}, Span{float}, Span{byte}, KernelThreadPool?)"/>
/// and <see cref="MatrixKernels.MatMul(in WeightMatrix, ReadOnlySpan{float}, Span{float}, Span{byte}, KernelThreadPool?)"/>
/// over model shapes: <c>dotnet ModelGen.Benchmarks.dll sweep [rounds]</c>. Prints, per case, the median and the
/// spread of the per-round medians, so that two builds can be run in turn on a shared machine and compared case by case.
/// </summary>
/// <remarks>
/// BenchmarkDotNet's full grid of these cases takes the better part of an hour; this takes a few minutes, with weights
/// cold (the next of several copies, together 128 MiB) as in <see cref="MatVecBenchmarks"/>.
/// </remarks>
internal static unsafe class MatrixSweep
{
    private const long ColdBytes = 128L << 20;

    private static readonly (int Rows, int Columns)[] Shapes =
    [
        (576, 576), (1536, 576), (576, 1536),         // smol-135m: attention, feed-forward up and down
        (2048, 2048), (5632, 2048), (2048, 5632),     // TinyLlama-1.1B
    ];

    private static readonly (string Name, int ActivationRows, int Threads)[] Kernels =
    [
        ("MatVec", 1, 1), ("MatVec", 1, 2), ("MatMul", 64, 2),
    ];

    public static void Run(int rounds)
    {
        Console.WriteLine($"{"kernel",-7} {"rows",2} {"thr",3} {"type",-5} {"shape",-10} {"median µs",10} {"min",9} {"max",9}");
        foreach (var type in new[] { GgmlType.Q8_0, GgmlType.Q4_0 })
        {
            foreach (var (rows, columns) in Shapes)
            {
                foreach (var (name, activationRows, threads) in Kernels)
                {
                    var medians = Measure(type, rows, columns, activationRows, threads, rounds);
                    Array.Sort(medians);
                    Console.WriteLine(
                        $"{name,-7} {activationRows,2} {threads,3} {type,-5} {rows + "x" + columns,-10} {medians[medians.Length / 2],10:F1} {medians[0],9:F1} {medians[^1],9:F1}");
                }
            }
        }
    }

    /// <summary>Per round, the median time of one call in microseconds.</summary>
    private static double[] Measure(GgmlType type, int rows, int columns, int activationRows, int threads, int rounds)
    {
        long matrixBytes = rows * type.Info().RowBytes(columns);
        int copies = (int)Math.Max(2, (ColdBytes - 1) / matrixBytes + 1);
        byte* memory = BenchmarkData.Fill(BenchmarkData.Quantize(type, BenchmarkData.Floats(64 * columns, seed: 1)), copies * matrixBytes);
        try
        {
            using var pool = new KernelThreadPool(threads);
            var x = BenchmarkData.Floats(activationRows * columns, seed: 2);
            var y = new float[activationRows * rows];
            var scratch = new byte[MatrixKernels.ActivationBytes(type, columns, activationRows)];
            int calls = (int)Math.Clamp(20_000_000_000L / ((long)rows * columns * activationRows), 20, 2000);
            var times = new double[calls];
            var medians = new double[rounds];
            for (int round = -1; round < rounds; round++)
            {
                for (int i = 0; i < calls; i++)
                {
                    var weights = new WeightMatrix(type, memory + i % copies * matrixBytes, matrixBytes, rows, columns);
                    long start = Stopwatch.GetTimestamp();
                    if (activationRows == 1)
                    {
                        MatrixKernels.MatVec(weights, x, y, scratch, pool);
                    }
                    else
                    {
                        MatrixKernels.MatMul(weights, x, y, scratch, pool);
                    }

                    times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                }

                // Round -1 warms up.
                if (round >= 0)
                {
                    Array.Sort(times);
                    medians[round] = times[calls / 2];
                }
            }

            return medians;
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }
}
