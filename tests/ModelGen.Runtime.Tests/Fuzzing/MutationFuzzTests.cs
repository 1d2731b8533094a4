using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Tokenization;
using ModelGen.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace ModelGen.Runtime.Tests.Fuzzing;

/// <summary>
/// Mutation fuzzing of the tokenizer loader and the engine's loader: each mutant of a valid vocabulary or model is
/// accepted, or refused with a <see cref="GgufFormatException"/> or an <see cref="UnsupportedModelException"/>, within
/// 2 s and without allocating 64 MiB more than the seed. Fixed seeds; a failure names the mutant and writes it out.
/// </summary>
public sealed class MutationFuzzTests(ITestOutputHelper output, FuzzSeeds seeds) : IClassFixture<FuzzSeeds>, IDisposable
{
    private const int RandomSeed = 20261202;

    private static readonly Type[] Documented = [typeof(GgufFormatException), typeof(UnsupportedModelException)];

    private readonly string _mutantPath = Path.Combine(Path.GetTempPath(), $"modelgen-fuzz-mutant-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");

    private static FuzzOracle TokenizerOracle => new("tokenizer", bytes =>
    {
        var header = GgufReader.ReadHeader(new MemoryStream(bytes, writable: false), "mutant.gguf");
        Tokenizer.FromGguf(header.Metadata);
    }, Documented);

    private FuzzOracle LoaderOracle => new("loader", bytes =>
    {
        File.WriteAllBytes(_mutantPath, bytes);
        using var model = GenericModel.Load(_mutantPath, new ModelOptions { ContextLength = 8, Threads = 1, BatchSize = 4 });
    }, Documented);

    [Theory]
    [InlineData("qwen2-vocab-2000", 1000)]
    [InlineData("llama-spm-vocab-1000", 1000)]
    public void Tokenizer_mutants_are_accepted_or_refused_with_a_documented_exception(string seed, int count)
    {
        var bytes = seed.StartsWith("qwen2", StringComparison.Ordinal) ? seeds.BytePairVocabulary : seeds.SentencePieceVocabulary;
        var report = TokenizerOracle.Run(new GgufMutator(seed, bytes, RandomSeed), count);
        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.InRange(report.Refused, count / 10, count - count / 10);
    }

    [Theory]
    [InlineData("modelgen-tiny", 800)]
    [InlineData("qwen3-tiny", 600)]
    public void Model_mutants_are_loaded_or_refused_with_a_documented_exception(string seed, int count)
    {
        var bytes = seed == "qwen3-tiny" ? seeds.Qwen3 : FuzzSeeds.DefaultModel;
        var report = LoaderOracle.Run(new GgufMutator(seed, bytes, RandomSeed), count);
        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.InRange(report.Refused, count / 10, count - count / 10);
    }

    [Fact]
    public void Tokenizer_regression_files_are_accepted_or_refused_with_a_documented_exception()
    {
        var oracle = TokenizerOracle;
        string[] failures = [.. FuzzRegressions.Files("tokenizer").Select(f => $"{Path.GetFileName(f)}: {oracle.Check(File.ReadAllBytes(f))}").Where(r => !r.EndsWith(": ", StringComparison.Ordinal))];
        Assert.Empty(failures);
    }

    [Fact]
    public void Loader_regression_files_are_loaded_or_refused_with_a_documented_exception()
    {
        var oracle = LoaderOracle;
        string[] failures = [.. FuzzRegressions.Files("loader").Select(f => $"{Path.GetFileName(f)}: {oracle.Check(FuzzRegressions.WithZeroData(f))}").Where(r => !r.EndsWith(": ", StringComparison.Ordinal))];
        Assert.Empty(failures);
    }

    public void Dispose() => File.Delete(_mutantPath);
}
