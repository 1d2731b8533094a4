using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Formats;
using ModelGen.Kernels.Tests.Formats;
using ModelGen.Kernels.Threading;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

public class MatVecTests
{
    /// <summary>One block of the K-quants, eight of the 32-element formats.</summary>
    private const int Columns = 256;

    /// <summary>
    /// How far a product may stray from libggml's, relative to Σ|wᵢxᵢ|: both sum the same exact block products in
    /// float, in different orders, so they differ by a few roundings of partial sums.
    /// </summary>
    private const double GgmlTolerance = 1e-5;

    [Theory]
    [MemberData(nameof(WeightFormatData.TypesAndThreads), MemberType = typeof(WeightFormatData))]
    public void MatVec_equals_row_by_row_dots(GgmlType type, int threads)
    {
        using var pool = new KernelThreadPool(threads);
        // One row, a prime number, and enough rows for several ranges, the last one short.
        foreach (int rows in new[] { 1, 37, 1001 })
        {
            var weights = new TestMatrix(type, rows, Columns, seed: rows);
            var x = TestData.Floats(Columns, seed: rows + 1);
            var expected = ExpectedProducts.RowByRow(weights, x);

            FormatTestData.AssertBitsEqual(expected, MatVec(weights, x, pool));
            FormatTestData.AssertBitsEqual(expected, MatVec(weights, x, pool: null));
        }
    }

    [Theory]
    [MemberData(nameof(WeightFormatData.Types), MemberType = typeof(WeightFormatData))]
    public void MatVec_reads_each_row_at_its_stride_and_nothing_between(GgmlType type)
    {
        using var pool = new KernelThreadPool(2);
        var weights = new TestMatrix(type, rows: 129, Columns, seed: 3, padding: 40);
        var x = TestData.Floats(Columns, seed: 4);

        FormatTestData.AssertBitsEqual(ExpectedProducts.RowByRow(weights, x), MatVec(weights, x, pool));
    }

    [Theory]
    [MemberData(nameof(WeightFormatData.Types), MemberType = typeof(WeightFormatData))]
    public void MatVec_agrees_with_libggml(GgmlType type)
    {
        using var pool = new KernelThreadPool(2);
        var weights = new TestMatrix(type, rows: 64, columns: 2048, seed: 5);
        var x = TestData.Floats(2048, seed: 6);

        AssertClose(ExpectedProducts.Ggml(weights, x), MatVec(weights, x, pool), ExpectedProducts.Magnitudes(weights, x));
    }

    [Fact]
    public unsafe void MatVec_reads_rows_beyond_2_GiB()
    {
        // Three rows 1.25 GiB apart: the last starts past 2^31. Untouched pages of the allocation are never committed.
        const long Stride = 5L << 28;
        var source = new TestMatrix(GgmlType.Q4_0, rows: 3, Columns, seed: 7);
        long length = 2 * Stride + source.RowBytes;
        byte* memory = (byte*)NativeMemory.Alloc((nuint)length);
        try
        {
            for (int r = 0; r < 3; r++)
            {
                source.Row(r).CopyTo(new Span<byte>(memory + r * Stride, source.RowBytes));
            }

            var weights = new WeightMatrix(GgmlType.Q4_0, memory, length, rows: 3, Columns, Stride);
            var x = TestData.Floats(Columns, seed: 8);
            var y = new float[3];
            using var pool = new KernelThreadPool(2);
            MatrixKernels.MatVec<Q4_0, Q8_0>(weights, x, y, new byte[MatrixKernels.ActivationBytes<Q8_0>(Columns)], pool);

            FormatTestData.AssertBitsEqual(ExpectedProducts.RowByRow(source, x), y);
        }
        finally
        {
            NativeMemory.Free(memory);
        }
    }

    [Fact]
    public void MatVec_rejects_inputs_that_do_not_fit_the_matrix()
    {
        var weights = new TestMatrix(GgmlType.Q4_0, rows: 8, Columns, seed: 9);
        var scratch = new byte[MatrixKernels.ActivationBytes(GgmlType.Q4_0, Columns)];

        Assert.Throws<ArgumentException>("x", () => MatrixKernels.MatVec(weights.Matrix, new float[Columns - 32], new float[8], scratch));
        Assert.Throws<ArgumentException>("y", () => MatrixKernels.MatVec(weights.Matrix, new float[Columns], new float[9], scratch));
        Assert.Throws<ArgumentException>("scratch", () => MatrixKernels.MatVec(weights.Matrix, new float[Columns], new float[8], scratch[1..]));
        Assert.Throws<ArgumentException>(
            "weights", () => MatrixKernels.MatVec<Q8_0, Q8_0>(weights.Matrix, new float[Columns], new float[8], scratch));
    }

    [Fact]
    public unsafe void Types_without_kernels_are_refused_by_the_dispatcher()
    {
        var memory = new byte[16];
        fixed (byte* data = memory)
        {
            var integers = new WeightMatrix(GgmlType.I32, data, memory.Length, rows: 1, columns: 4);
            Assert.False(WeightFormats.IsSupported(GgmlType.I32));
            Assert.Throws<NotSupportedException>(() => MatrixKernels.MatVec(integers, new float[4], new float[1], new byte[64]));
        }
    }

    [Fact]
    public unsafe void WeightMatrix_checks_every_row_against_the_memory_once()
    {
        var memory = GC.AllocateArray<byte>(64, pinned: true);
        nint data = (nint)Unsafe.AsPointer(ref memory[0]);

        // Three rows of one Q4_0 block (18 bytes), 5 bytes apart beyond it: 2 * 23 + 18 = 64 bytes.
        var matrix = new WeightMatrix(GgmlType.Q4_0, data, 64, rows: 3, columns: 32, rowStride: 23);
        Assert.Equal(18, matrix.RowBytes);
        Assert.True(matrix.Row(2) == memory.AsSpan(46, 18));
        Assert.Throws<ArgumentOutOfRangeException>(() => matrix.Row(3));

        Assert.Throws<ArgumentOutOfRangeException>("byteLength", () => new WeightMatrix(GgmlType.Q4_0, data, 63, 3, 32, 23));
        Assert.Throws<ArgumentOutOfRangeException>("byteLength", () => new WeightMatrix(GgmlType.Q4_0, data, 17, 1, 32));
        Assert.Throws<ArgumentOutOfRangeException>("rowStride", () => new WeightMatrix(GgmlType.Q4_0, data, 64, 3, 32, 17));
        Assert.Throws<ArgumentException>("columns", () => new WeightMatrix(GgmlType.Q4_0, data, 64, 1, 48));
        Assert.Equal(0, new WeightMatrix(GgmlType.Q4_0, data, 0, rows: 0, columns: 32).Rows);
    }

    internal static void AssertClose(float[] ggml, float[] actual, float[] magnitudes)
    {
        Assert.Equal(ggml.Length, actual.Length);
        for (int i = 0; i < ggml.Length; i++)
        {
            double tolerance = GgmlTolerance * magnitudes[i];
            Assert.True(
                Math.Abs(actual[i] - ggml[i]) <= tolerance,
                $"output {i}: {actual[i]:R}, libggml {ggml[i]:R}, tolerance {tolerance:G3}");
        }
    }

    private static float[] MatVec(TestMatrix weights, float[] x, KernelThreadPool? pool)
    {
        var y = new float[weights.Rows];
        y.AsSpan().Fill(float.NaN);
        var scratch = new byte[MatrixKernels.ActivationBytes(weights.Type, weights.Columns)];
        MatrixKernels.MatVec(weights.Matrix, x, y, scratch, pool);
        GC.KeepAlive(weights);
        return y;
    }
}
