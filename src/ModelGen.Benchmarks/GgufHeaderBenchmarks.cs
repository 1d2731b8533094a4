using BenchmarkDotNet.Attributes;
using ModelGen.Gguf;

namespace ModelGen.Benchmarks;

/// <summary>
/// Parsing the header of the Qwen2 vocabulary file (151,936 tokens and 151,387 merges): in full, and header-only,
/// which walks over long arrays instead of materialising them.
/// </summary>
[MemoryDiagnoser]
public class GgufHeaderBenchmarks
{
    private string _path = "";

    [GlobalSetup]
    public void Setup() => _path = BenchmarkData.SharedFile("vocab", "ggml-vocab-qwen2.gguf");

    [Benchmark(Baseline = true)]
    public GgufHeader Full() => GgufReader.ReadHeader(_path);

    [Benchmark]
    public GgufHeader HeaderOnly() => GgufReader.ReadHeader(_path, GgufReadOptions.HeaderOnly);
}
