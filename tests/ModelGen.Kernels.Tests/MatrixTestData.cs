using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.LlamaCpp;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>
/// A weight matrix quantized by libggml's reference quantizer, in pinned memory, each row followed by
/// <c>padding</c> bytes of filler that a kernel reading past its row would pick up.
/// </summary>
internal sealed unsafe class TestMatrix
{
    private readonly byte[] _memory;

    public TestMatrix(GgmlType type, int rows, int columns, int seed, int padding = 0)
    {
        Type = type;
        Rows = rows;
        Columns = columns;
        Values = TestData.Floats(rows * columns, seed);

        // Reference quantizers treat blocks independently, so one call quantizes all rows. ggml has none for F32,
        // whose rows are the floats themselves.
        var packed = type == GgmlType.F32
            ? MemoryMarshal.AsBytes(Values.AsSpan()).ToArray()
            : GgmlReference.QuantizeReference(type, Values);
        RowBytes = packed.Length / rows;
        Stride = RowBytes + padding;
        _memory = GC.AllocateArray<byte>(Stride * rows, pinned: true);
        _memory.AsSpan().Fill(0xA5);
        for (int r = 0; r < rows; r++)
        {
            packed.AsSpan(r * RowBytes, RowBytes).CopyTo(_memory.AsSpan(r * Stride));
        }
    }

    public GgmlType Type { get; }

    public int Rows { get; }

    public int Columns { get; }

    public int RowBytes { get; }

    public int Stride { get; }

    /// <summary>What was quantized.</summary>
    public float[] Values { get; }

    /// <summary>
    /// The matrix over this object's pinned memory, which lives only as long as this object does: a test keeps it
    /// alive (<c>GC.KeepAlive</c>) until the kernel has returned, or a collection during the call frees what it reads.
    /// </summary>
    public WeightMatrix Matrix =>
        new(Type, (byte*)Unsafe.AsPointer(ref _memory[0]), _memory.Length, Rows, Columns, Stride);

    public ReadOnlySpan<byte> Row(int index) => _memory.AsSpan(index * Stride, RowBytes);
}

/// <summary>Expected outputs, computed one row and one activation row at a time.</summary>
internal static class ExpectedProducts
{
    /// <summary>Our own <c>Quantize</c> and <c>Dot</c> per pair: what the kernels must reproduce bit for bit.</summary>
    public static float[] RowByRow(TestMatrix weights, ReadOnlySpan<float> x)
    {
        var y = new float[x.Length / weights.Columns * weights.Rows];
        var reference = new RowByRowDots(weights, x, y);
        WeightFormats.Visit(weights.Type, ref reference);
        return y;
    }

    /// <summary>libggml's CPU <c>from_float</c> and <c>vec_dot</c> per pair.</summary>
    public static float[] Ggml(TestMatrix weights, ReadOnlySpan<float> x)
    {
        var activationType = GgmlReference.VecDotType(weights.Type);
        int count = x.Length / weights.Columns;
        var y = new float[count * weights.Rows];
        for (int t = 0; t < count; t++)
        {
            var activations = GgmlReference.QuantizeCpu(activationType, x.Slice(t * weights.Columns, weights.Columns));
            for (int r = 0; r < weights.Rows; r++)
            {
                y[t * weights.Rows + r] = GgmlReference.Dot(weights.Type, weights.Row(r), activations, weights.Columns);
            }
        }

        return y;
    }

    /// <summary>
    /// Σ|wᵢxᵢ| over a row and an activation row, with w dequantized: the scale of the rounding error that a
    /// different summation order can make.
    /// </summary>
    public static float[] Magnitudes(TestMatrix weights, ReadOnlySpan<float> x)
    {
        int count = x.Length / weights.Columns;
        var magnitudes = new float[count * weights.Rows];
        var w = new float[weights.Columns];
        for (int r = 0; r < weights.Rows; r++)
        {
            var dequantize = new DequantizeRow(weights.Row(r), w);
            WeightFormats.Visit(weights.Type, ref dequantize);
            for (int t = 0; t < count; t++)
            {
                var activations = x.Slice(t * weights.Columns, weights.Columns);
                double sum = 0;
                for (int i = 0; i < w.Length; i++)
                {
                    sum += Math.Abs((double)w[i] * activations[i]);
                }

                magnitudes[t * weights.Rows + r] = (float)sum;
            }
        }

        return magnitudes;
    }

    private readonly ref struct DequantizeRow(ReadOnlySpan<byte> blocks, Span<float> values) : IWeightFormatVisitor
    {
        private readonly ReadOnlySpan<byte> _blocks = blocks;
        private readonly Span<float> _values = values;

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat =>
            TWeight.Dequantize(_blocks, _values);
    }

    private readonly ref struct RowByRowDots(TestMatrix weights, ReadOnlySpan<float> x, Span<float> y) : IWeightFormatVisitor
    {
        private readonly ReadOnlySpan<float> _x = x;
        private readonly Span<float> _y = y;

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat
        {
            var activations = new byte[MatrixKernels.ActivationBytes<TActivation>(weights.Columns)];
            int count = _x.Length / weights.Columns;
            for (int t = 0; t < count; t++)
            {
                TActivation.Quantize(SimdPaths.Best, _x.Slice(t * weights.Columns, weights.Columns), activations);
                for (int r = 0; r < weights.Rows; r++)
                {
                    _y[t * weights.Rows + r] = TWeight.Dot(SimdPaths.Best, weights.Row(r), activations, weights.Columns);
                }
            }
        }
    }
}

/// <summary>Theory data over the weight formats the kernels implement.</summary>
public static class WeightFormatData
{
    public static IEnumerable<GgmlType> Supported => Enum.GetValues<GgmlType>().Where(WeightFormats.IsSupported);

    public static TheoryData<GgmlType> Types => new(Supported);

    /// <summary>Every format with 1, 2 and 3 threads.</summary>
    public static TheoryData<GgmlType, int> TypesAndThreads
    {
        get
        {
            var data = new TheoryData<GgmlType, int>();
            foreach (var type in Supported)
            {
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    data.Add(type, threads);
                }
            }

            return data;
        }
    }
}
