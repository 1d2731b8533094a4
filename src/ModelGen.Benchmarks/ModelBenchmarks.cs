using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using ModelGen.Cli.Commands;
using ModelGen.Runtime.Benchmarking;
using ModelGen.Runtime.Quantization;
using ModelGen.Runtime.Synthesis;
using Perfolizer.Horology;

namespace ModelGen.Benchmarks;

/// <summary>
/// Whole models, the comparison of <c>modelgen bench</c> under BenchmarkDotNet: the generated engine (the model
/// compiled into its class), the generic engine, llama.cpp and LLamaSharp (<see cref="LLamaSharpEngine"/>), on
/// synthetic models of three real shapes (<see cref="BenchmarkModels"/>), on all cores. Engines are opened by
/// <see cref="BenchCommand.Open"/>, so the comparison is the one the command makes; what BenchmarkDotNet adds is a
/// process per case (which also keeps LLamaSharp's llama.cpp build apart from the pinned one) and its statistics.
/// </summary>
/// <remarks>
/// Parameters appear in each case's full name, so <c>--filter</c> narrows by them, e.g.
/// <c>--filter '*ModelBenchmarks*micro*'</c> (see docs/PERFORMANCE.md).
/// </remarks>
[Config(typeof(Config))]
public class ModelBenchmarks
{
    private const int PromptTokens = 64;

    private const int DecodeTokens = 16;

    private IBenchmarkEngine _engine = null!;
    private int[] _tokens = [];

    public static IEnumerable<string> Shapes => [ModelShape.Micro.Name, ModelShape.Smol135M.Name, ModelShape.TinyLlama1_1B.Name];

    public static IEnumerable<QuantizationType> Types => BenchmarkModels.Types;

    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    [ParamsSource(nameof(Types))]
    public QuantizationType Type { get; set; }

    [Params("generated", "generic", "llama.cpp", "LLamaSharp")]
    public string Engine { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var path = BenchmarkModels.Get(ModelShape.Parse(Shape), Type);

        // The context `modelgen bench -p 64 -n 16` opens.
        int context = BenchCommand.ContextLength(PromptTokens, DecodeTokens);
        _engine = Engine == "LLamaSharp"
            ? new LLamaSharpEngine(path, Environment.ProcessorCount, context)
            : BenchCommand.Open(Engine, path, Environment.ProcessorCount, context);

        // Random token ids, as llama-bench uses: a synthetic model's output means nothing, so neither does its input.
        var random = new Random(1);
        _tokens = new int[PromptTokens];
        for (int i = 0; i < _tokens.Length; i++)
        {
            _tokens[i] = random.Next(_engine.VocabularySize);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _engine.Dispose();

    /// <summary>llama-bench's pp test: the prompt from position 0, a fresh sequence each time.</summary>
    [Benchmark(OperationsPerInvoke = PromptTokens)]
    public void Prefill() => _engine.Prefill(_tokens);

    /// <summary>
    /// llama-bench's tg test: tokens one forward pass at a time from an empty context. The first of them starts the
    /// sequence (a one-token prefill, which also discards the previous invocation's), so every invocation runs the
    /// same positions and every token counted is a single-token pass.
    /// </summary>
    [Benchmark(OperationsPerInvoke = DecodeTokens)]
    public void Decode()
    {
        _engine.Prefill(_tokens.AsSpan(0, 1));
        for (int position = 1; position < DecodeTokens; position++)
        {
            _engine.Decode(_tokens[position], position);
        }
    }

    /// <summary>
    /// A short job, so that the 54 cases take about a quarter of an hour: one-second iterations (a TinyLlama prefill
    /// alone takes several), a one-second warm-up, which tiered compilation needs before a method runs optimised,
    /// and five measured iterations. It is the default job: <c>--job</c> on the command line replaces it.
    /// </summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default
                .WithId("Model")
                .WithLaunchCount(1)
                .WithWarmupCount(1)
                .WithIterationCount(5)
                .WithIterationTime(TimeInterval.FromSeconds(1))
                .AsDefault());
            AddColumn(new TokensPerSecondColumn());
        }
    }
}
