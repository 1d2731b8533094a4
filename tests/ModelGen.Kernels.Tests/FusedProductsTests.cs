using ModelGen.Gguf;
using ModelGen.Kernels.Formats;
using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Tests.Formats;
using ModelGen.Kernels.Threading;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>The fused products of the compiled model against the separate products they replace, bit for bit.</summary>
public class FusedProductsTests
{
    private const int Columns = 256;

    public static TheoryData<int, int> ActivationRowsAndThreads => new() { { 1, 1 }, { 1, 2 }, { 5, 1 }, { 5, 2 } };

    [Theory]
    [MemberData(nameof(ActivationRowsAndThreads))]
    public void Three_products_equal_separate_ones_whichever_activation_formats_they_share(int count, int threads)
    {
        // One activation format for all; three distinct ones; the third sharing the first's; the third sharing the second's.
        AssertThree<Q4_0, Q8_0, Q8_0, Q8_0, Q4_0, Q8_0>(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_0, count, threads);
        AssertThree<Q4_0, Q8_0, Q4_1, Q8_1, Q4_K, Q8_K>(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q4_K, count, threads);
        AssertThree<Q4_K, Q8_K, Q8_0, Q8_0, Q6_K, Q8_K>(GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.Q6_K, count, threads);
        AssertThree<F16, F16, Q4_K, Q8_K, Q5_K, Q8_K>(GgmlType.F16, GgmlType.Q4_K, GgmlType.Q5_K, count, threads);
    }

    [Theory]
    [MemberData(nameof(ActivationRowsAndThreads))]
    public void SwiGlu_products_equal_separate_products_then_SwiGlu_per_row(int count, int threads)
    {
        AssertSwiGlu<Q4_0, Q8_0, Q4_0, Q8_0>(GgmlType.Q4_0, GgmlType.Q4_0, count, threads);
        AssertSwiGlu<Q4_K, Q8_K, Q6_K, Q8_K>(GgmlType.Q4_K, GgmlType.Q6_K, count, threads);
        AssertSwiGlu<Q8_0, Q8_0, Q5_1, Q8_1>(GgmlType.Q8_0, GgmlType.Q5_1, count, threads);
    }

    [Fact]
    public void SwiGlu_products_refuse_features_that_are_not_whole_chunks()
    {
        var gate = new TestMatrix(GgmlType.Q8_0, rows: 40, Columns, seed: 1);
        var x = TestData.Floats(Columns, seed: 2);
        var e = Assert.Throws<ArgumentException>(() => MatrixKernels.MatMulSwiGlu<Q8_0, Q8_0, Q8_0, Q8_0>(
            x, gate.Matrix, gate.Matrix, new float[40], new float[40], new byte[4096]));
        Assert.Contains("40 features are not whole chunks of 16", e.Message);
    }

    [Fact]
    public void Three_products_refuse_too_little_scratch_for_their_distinct_activation_formats()
    {
        var q40 = new TestMatrix(GgmlType.Q4_0, rows: 8, Columns, seed: 3);
        var q41 = new TestMatrix(GgmlType.Q4_1, rows: 8, Columns, seed: 4);
        var x = TestData.Floats(Columns, seed: 5);

        // Enough for Q8_0 (272 bytes) but not for Q8_0 and Q8_1 (272 + 288).
        var e = Assert.Throws<ArgumentException>(() => MatrixKernels.MatMul<Q4_0, Q8_0, Q4_1, Q8_1, Q4_0, Q8_0>(
            x, q40.Matrix, new float[8], q41.Matrix, new float[8], q40.Matrix, new float[8], new byte[272]));
        Assert.Contains("272 bytes of scratch where 560 are needed", e.Message);
    }

    private static void AssertThree<TW0, TA0, TW1, TA1, TW2, TA2>(GgmlType t0, GgmlType t1, GgmlType t2, int count, int threads)
        where TW0 : IWeightFormat<TA0>
        where TA0 : IActivationFormat
        where TW1 : IWeightFormat<TA1>
        where TA1 : IActivationFormat
        where TW2 : IWeightFormat<TA2>
        where TA2 : IActivationFormat
    {
        using var pool = new KernelThreadPool(threads);

        // Row counts that put thread ranges across the boundaries between the matrices.
        var w0 = new TestMatrix(t0, rows: 97, Columns, seed: 10);
        var w1 = new TestMatrix(t1, rows: 31, Columns, seed: 11);
        var w2 = new TestMatrix(t2, rows: 64, Columns, seed: 12);
        var x = TestData.Floats(count * Columns, seed: 13);
        var (y0, y1, y2) = (Outputs(count * w0.Rows), Outputs(count * w1.Rows), Outputs(count * w2.Rows));
        var scratch = new byte[MatrixKernels.ActivationBytes(t0, Columns, count) + MatrixKernels.ActivationBytes(t1, Columns, count)
                               + MatrixKernels.ActivationBytes(t2, Columns, count)];

        MatrixKernels.MatMul<TW0, TA0, TW1, TA1, TW2, TA2>(x, w0.Matrix, y0, w1.Matrix, y1, w2.Matrix, y2, scratch, pool);
        GC.KeepAlive((w0, w1, w2));

        FormatTestData.AssertBitsEqual(ExpectedProducts.RowByRow(w0, x), y0);
        FormatTestData.AssertBitsEqual(ExpectedProducts.RowByRow(w1, x), y1);
        FormatTestData.AssertBitsEqual(ExpectedProducts.RowByRow(w2, x), y2);
    }

    private static void AssertSwiGlu<TGate, TGateActivation, TUp, TUpActivation>(GgmlType gateType, GgmlType upType, int count, int threads)
        where TGate : IWeightFormat<TGateActivation>
        where TGateActivation : IActivationFormat
        where TUp : IWeightFormat<TUpActivation>
        where TUpActivation : IActivationFormat
    {
        using var pool = new KernelThreadPool(threads);
        const int features = 400;
        var gate = new TestMatrix(gateType, features, Columns, seed: 20);
        var up = new TestMatrix(upType, features, Columns, seed: 21);
        var x = TestData.Floats(count * Columns, seed: 22);

        var expected = ExpectedProducts.RowByRow(gate, x);
        var upExpected = ExpectedProducts.RowByRow(up, x);
        for (int t = 0; t < count; t++)
        {
            Activations.SwiGlu(expected.AsSpan(t * features, features), upExpected.AsSpan(t * features, features));
        }

        var hidden = Outputs(count * features);
        var scratch = new byte[MatrixKernels.ActivationBytes(gateType, Columns, count) + MatrixKernels.ActivationBytes(upType, Columns, count)];
        MatrixKernels.MatMulSwiGlu<TGate, TGateActivation, TUp, TUpActivation>(x, gate.Matrix, up.Matrix, hidden, Outputs(count * features), scratch, pool);
        GC.KeepAlive((gate, up));

        FormatTestData.AssertBitsEqual(expected, hidden);
    }

    private static float[] Outputs(int length)
    {
        var y = new float[length];
        y.AsSpan().Fill(float.NaN);
        return y;
    }
}
