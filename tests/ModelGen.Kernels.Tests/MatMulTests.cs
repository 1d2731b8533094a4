using ModelGen.Gguf;
using ModelGen.Kernels.Tests.Formats;
using ModelGen.Kernels.Threading;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

public class MatMulTests
{
    /// <summary>One block of the K-quants, eight of the 32-element formats.</summary>
    private const int Columns = 256;

    [Theory]
    [MemberData(nameof(WeightFormatData.TypesAndThreads), MemberType = typeof(WeightFormatData))]
    public void MatMul_equals_row_by_row_dots(GgmlType type, int threads)
    {
        using var pool = new KernelThreadPool(threads);
        // 301 rows make several thread ranges, the last one short; five activation rows a tile of four and one more.
        foreach (int rows in new[] { 37, 301 })
        {
            var weights = new TestMatrix(type, rows, Columns, seed: rows);
            foreach (int count in new[] { 1, 5 })
            {
                var x = TestData.Floats(count * Columns, seed: rows + count);
                var expected = ExpectedProducts.RowByRow(weights, x);

                FormatTestData.AssertBitsEqual(expected, MatMul(weights, x, pool));
                FormatTestData.AssertBitsEqual(expected, MatMul(weights, x, pool: null));
            }
        }
    }

    [Fact]
    public void MatMul_walks_weight_rows_in_tiles_and_their_remainder()
    {
        // 256 KiB tiles of 272-byte Q8_0 rows hold 963 rows: one thread walks two whole tiles and a partial one.
        var weights = new TestMatrix(GgmlType.Q8_0, rows: 2000, Columns, seed: 16);
        var x = TestData.Floats(5 * Columns, seed: 17);

        FormatTestData.AssertBitsEqual(ExpectedProducts.RowByRow(weights, x), MatMul(weights, x, pool: null));
    }

    [Theory]
    [MemberData(nameof(WeightFormatData.Types), MemberType = typeof(WeightFormatData))]
    public void MatMul_equals_MatVec_of_each_row_with_strided_weights(GgmlType type)
    {
        using var pool = new KernelThreadPool(2);
        var weights = new TestMatrix(type, rows: 75, Columns, seed: 10, padding: 24);
        var x = TestData.Floats(6 * Columns, seed: 11);

        var y = MatMul(weights, x, pool);
        var scratch = new byte[MatrixKernels.ActivationBytes(type, Columns)];
        var row = new float[weights.Rows];
        for (int t = 0; t < 6; t++)
        {
            MatrixKernels.MatVec(weights.Matrix, x.AsSpan(t * Columns, Columns), row, scratch, pool);
            FormatTestData.AssertBitsEqual(row, y.AsSpan(t * weights.Rows, weights.Rows));
        }

        GC.KeepAlive(weights);
    }

    [Theory]
    [MemberData(nameof(WeightFormatData.Types), MemberType = typeof(WeightFormatData))]
    public void MatMul_agrees_with_libggml(GgmlType type)
    {
        using var pool = new KernelThreadPool(2);
        var weights = new TestMatrix(type, rows: 48, columns: 1024, seed: 12);
        var x = TestData.Floats(5 * 1024, seed: 13);

        MatVecTests.AssertClose(ExpectedProducts.Ggml(weights, x), MatMul(weights, x, pool), ExpectedProducts.Magnitudes(weights, x));
    }

    [Fact]
    public void MatMul_of_no_activation_rows_does_nothing()
    {
        var weights = new TestMatrix(GgmlType.Q4_0, rows: 8, Columns, seed: 14);
        MatrixKernels.MatMul(weights.Matrix, ReadOnlySpan<float>.Empty, Span<float>.Empty, Span<byte>.Empty);
    }

    [Fact]
    public void MatMul_rejects_inputs_that_do_not_fit_the_matrix()
    {
        var weights = new TestMatrix(GgmlType.Q4_0, rows: 8, Columns, seed: 15);
        var scratch = new byte[MatrixKernels.ActivationBytes(GgmlType.Q4_0, Columns, count: 2)];

        Assert.Throws<ArgumentException>("x", () => MatrixKernels.MatMul(weights.Matrix, new float[2 * Columns + 32], new float[16], scratch));
        Assert.Throws<ArgumentException>("y", () => MatrixKernels.MatMul(weights.Matrix, new float[2 * Columns], new float[8], scratch));
        Assert.Throws<ArgumentException>("scratch", () => MatrixKernels.MatMul(weights.Matrix, new float[2 * Columns], new float[16], scratch[1..]));
    }

    private static float[] MatMul(TestMatrix weights, float[] x, KernelThreadPool? pool)
    {
        int count = x.Length / weights.Columns;
        var y = new float[count * weights.Rows];
        y.AsSpan().Fill(float.NaN);
        var scratch = new byte[MatrixKernels.ActivationBytes(weights.Type, weights.Columns, count)];
        MatrixKernels.MatMul(weights.Matrix, x, y, scratch, pool);
        GC.KeepAlive(weights);
        return y;
    }
}
