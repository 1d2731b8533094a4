using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.LlamaCpp;

namespace ModelGen.Benchmarks;

/// <summary>
/// One weight row dotted with one activation row, ours against ggml's CPU <c>vec_dot</c> (the best variant for this
/// CPU), both on the same ggml-quantized inputs. The row is long and stays in L1/L2, so this measures the arithmetic,
/// and a call's fixed costs (ggml's is called through a function pointer, without a GC transition) vanish.
/// </summary>
[Config(typeof(Config))]
public unsafe class DotBenchmarks
{
    /// <summary>Elements per row: whole blocks of every format, long enough that a call's fixed cost vanishes.</summary>
    public const int Elements = 16384;

    private byte* _weights;
    private byte* _activations;
    private int _weightBytes;
    private int _activationBytes;
    private delegate*<SimdPath, ReadOnlySpan<byte>, ReadOnlySpan<byte>, int, float> _ours;
    private delegate* unmanaged[SuppressGCTransition]<int, float*, nuint, void*, nuint, void*, nuint, int, void> _ggml;

    public static IEnumerable<GgmlType> Formats => BenchmarkData.WeightFormats;

    [ParamsSource(nameof(Formats))]
    public GgmlType Type { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var weightValues = BenchmarkData.Floats(Elements, seed: 1);
        var weights = BenchmarkData.Quantize(Type, weightValues);
        var activationType = GgmlReference.VecDotType(Type);
        var activationValues = BenchmarkData.Floats(Elements, seed: 2);
        var activations = GgmlReference.QuantizeCpu(activationType, activationValues);
        (_weightBytes, _activationBytes) = (weights.Length, activations.Length);
        _weights = BenchmarkData.Fill(weights, weights.Length);
        _activations = BenchmarkData.Fill(activations, activations.Length);
        _ours = OurKernels.Dot(Type);
        _ggml = BenchmarkData.GgmlVecDot(Type);

        // A benchmark of a wrong result measures nothing: check ours against ggml, to the scale of the products
        // (loosely: the tests hold the kernels to ggml closely, this only refuses to time a broken build).
        double magnitude = weightValues.Zip(activationValues, (w, a) => Math.Abs((double)w * a)).Sum();
        float ours = Ours(), ggml = Ggml();
        if (Math.Abs(ours - ggml) > 1e-4 * magnitude)
        {
            throw new InvalidOperationException($"{Type}: our dot {ours} differs from ggml's {ggml}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_activations);
    }

    [Benchmark(Baseline = true)]
    public float Ggml()
    {
        float result;
        _ggml(Elements, &result, 0, _weights, 0, _activations, 0, 1);
        return result;
    }

    [Benchmark]
    public float Ours() =>
        _ours(SimdPaths.Best, new ReadOnlySpan<byte>(_weights, _weightBytes), new ReadOnlySpan<byte>(_activations, _activationBytes), Elements);

    private sealed class Config : ManualConfig
    {
        public Config() =>
            AddColumn(new WeightBandwidthColumn(
                "Weights GB/s", benchmarkCase => ((GgmlType)benchmarkCase.Parameters["Type"]).Info().RowBytes(Elements)));
    }
}
