using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Kernels.Threading;
using ModelGen.LlamaCpp;

namespace ModelGen.Benchmarks;

/// <summary>
/// Matrix-vector products of the shapes of a 1.1B model (TinyLlama: attention 2048x2048, feed-forward 5632x2048
/// and 2048x5632, output 32000x2048), as in token generation: weights stream from DRAM, so the figure to beat is
/// the machine's read bandwidth. The baseline runs ggml's <c>from_float</c> and <c>vec_dot</c> over the rows on the
/// same threads, so the two differ only in their kernels.
/// </summary>
/// <remarks>
/// Each invocation uses the next of several copies of the matrix, together four times the size of L3, so that weights
/// come from DRAM as they do when a model's other layers run in between.
/// </remarks>
[Config(typeof(Config))]
public unsafe class MatVecBenchmarks
{
    /// <summary>
    /// DRAM read bandwidth of this machine (AMD EPYC, Zen 4, 2 cores) by thread count, measured by a streaming
    /// AVX-512 read.
    /// </summary>
    private static readonly double[] DramBytesPerSecond = [0, 22e9, 41e9];

    private const long ColdBytes = 128L << 20;

    private KernelThreadPool _pool = null!;
    private byte* _memory;
    private WeightMatrix[] _copies = [];
    private int _next;
    private float[] _x = [];
    private float[] _y = [];
    private byte[] _scratch = [];
    private byte[] _ggmlActivations = [];
    private delegate* unmanaged[SuppressGCTransition]<float*, void*, long, void> _ggmlFromFloat;
    private delegate* unmanaged[SuppressGCTransition]<int, float*, nuint, void*, nuint, void*, nuint, int, void> _ggmlVecDot;

    public static IEnumerable<GgmlType> Formats =>
        new[] { GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K }.Where(WeightFormats.IsSupported);

    /// <summary>Rows x columns.</summary>
    [Params("2048x2048", "5632x2048", "2048x5632", "32000x2048")]
    public string Shape { get; set; } = "";

    [ParamsSource(nameof(Formats))]
    public GgmlType Type { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (rows, columns) = ParseShape(Shape);
        long matrixBytes = rows * Type.Info().RowBytes(columns);
        int copies = (int)Math.Max(2, (ColdBytes - 1) / matrixBytes + 1);

        // Distinct rows beyond a few dozen would change nothing the kernels do but the setup time.
        _memory = BenchmarkData.Fill(BenchmarkData.Quantize(Type, BenchmarkData.Floats(64 * columns, seed: 1)), copies * matrixBytes);
        _copies = new WeightMatrix[copies];
        for (int i = 0; i < copies; i++)
        {
            _copies[i] = new WeightMatrix(Type, _memory + i * matrixBytes, matrixBytes, (int)rows, columns);
        }

        _pool = new KernelThreadPool(Threads);
        _x = BenchmarkData.Floats(columns, seed: 2);
        _y = new float[rows];
        _scratch = new byte[MatrixKernels.ActivationBytes(Type, columns)];
        var activationType = GgmlReference.VecDotType(Type);
        _ggmlActivations = new byte[activationType.Info().RowBytes(columns)];
        _ggmlFromFloat = (delegate* unmanaged[SuppressGCTransition]<float*, void*, long, void>)GgmlNative.GetTypeTraitsCpu(activationType)->FromFloat;
        _ggmlVecDot = BenchmarkData.GgmlVecDot(Type);

        // A benchmark of a wrong result measures nothing. The bound is loose (|wᵢxᵢ| averages well below 1): the
        // tests hold the kernels to ggml closely, this only refuses to time a broken build.
        _next = 0;
        GgmlVecDot();
        var expected = _y.ToArray();
        _next = 0;
        Ours();
        for (int r = 0; r < rows; r++)
        {
            if (Math.Abs(_y[r] - expected[r]) > 1e-4 * (Math.Abs(expected[r]) + columns))
            {
                throw new InvalidOperationException($"{Type} {Shape}: row {r} is {_y[r]}, ggml's {expected[r]}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_memory);
    }

    [Benchmark(Baseline = true)]
    public void GgmlVecDot()
    {
        var weights = NextCopy();
        fixed (float* x = _x)
        fixed (byte* activations = _ggmlActivations)
        fixed (float* y = _y)
        {
            _ggmlFromFloat(x, activations, weights.Columns);
            _pool.For(weights.Rows, 1, new GgmlDotRows(_ggmlVecDot, weights, activations, y));
        }
    }

    [Benchmark]
    public void Ours() => MatrixKernels.MatVec(NextCopy(), _x, _y, _scratch, _pool);

    private static (long Rows, int Columns) ParseShape(string shape)
    {
        var parts = shape.Split('x');
        return (long.Parse(parts[0]), int.Parse(parts[1]));
    }

    private static long WeightBytes(BenchmarkCase benchmarkCase)
    {
        var (rows, columns) = ParseShape((string)benchmarkCase.Parameters["Shape"]);
        return rows * ((GgmlType)benchmarkCase.Parameters["Type"]).Info().RowBytes(columns);
    }

    private WeightMatrix NextCopy()
    {
        var weights = _copies[_next];
        _next = (_next + 1) % _copies.Length;
        return weights;
    }

    private readonly struct GgmlDotRows(
        delegate* unmanaged[SuppressGCTransition]<int, float*, nuint, void*, nuint, void*, nuint, int, void> vecDot,
        WeightMatrix weights,
        byte* activations,
        float* output) : IRangeBody
    {
        public void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                vecDot(weights.Columns, output + r, 0, weights.Data + r * weights.RowStride, 0, activations, 0, 1);
            }
        }
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new WeightBandwidthColumn("Weights GB/s", WeightBytes));
            AddColumn(new WeightBandwidthColumn(
                "Of DRAM", WeightBytes, benchmarkCase => DramBytesPerSecond[(int)benchmarkCase.Parameters["Threads"]]));
        }
    }
}
