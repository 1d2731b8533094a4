using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;
using ModelGen.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Mutation fuzzing of the generator: for each mutant of a valid model it reports MG diagnostics and no source, or
/// emits source that parses without a syntax error; it never throws, within 2 s and without allocating 64 MiB more
/// than for the seed. Fixed seeds; a failure names the mutant and writes it out.
/// </summary>
public sealed class MutationFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int RandomSeed = 20261202;

    private readonly string _mutantPath = ModelFiles.TempPath($"fuzz-mutant-{Guid.NewGuid():N}.gguf");

    /// <summary>The generator's way of refusing a file: diagnostics, all of them its own.</summary>
    private sealed class RefusedWithDiagnostics(string ids) : Exception(ids);

    private FuzzOracle Oracle => new("generator", bytes =>
    {
        File.WriteAllBytes(_mutantPath, bytes);
        var result = GeneratorHarness.Run(_mutantPath);
        if (result.Exception is { } crash)
        {
            throw crash;
        }

        if (result.Diagnostics.Length > 0)
        {
            var foreign = result.Diagnostics.Where(d => !d.Id.StartsWith("MG", StringComparison.Ordinal)).ToArray();
            if (foreign.Length > 0 || !result.GeneratedSources.IsEmpty)
            {
                throw new InvalidOperationException($"{result.GeneratedSources.Length} sources with diagnostics {string.Join("; ", result.Diagnostics)}");
            }

            throw new RefusedWithDiagnostics(string.Join(", ", result.Diagnostics.Select(d => d.Id)));
        }

        var source = result.GeneratedSources.Single().SyntaxTree;
        var errors = source.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(3).ToArray();
        if (errors.Length > 0)
        {
            throw new InvalidOperationException($"the emitted source does not parse: {string.Join("; ", errors.AsEnumerable())}");
        }
    }, typeof(RefusedWithDiagnostics));

    private static byte[] Seed(string name)
    {
        if (name == "modelgen-tiny")
        {
            return File.ReadAllBytes(Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf"));
        }

        var path = ModelFiles.TempPath("fuzz-seed-qwen3-tiny.gguf");
        ModelSynthesizer.Write(new SynthesisOptions { Shape = ModelShape.Tiny, Architecture = "qwen3", WeightType = GgmlType.Q8_0 }, path);
        return File.ReadAllBytes(path);
    }

    [Theory]
    [InlineData("modelgen-tiny", 600)]
    [InlineData("qwen3-tiny", 400)]
    public void Generator_mutants_get_diagnostics_or_source_that_parses(string seed, int count)
    {
        var report = Oracle.Run(new GgufMutator(seed, Seed(seed), RandomSeed), count);
        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.InRange(report.Refused, count / 10, count - count / 10);
    }

    [Fact]
    public void Regression_files_get_diagnostics_or_source_that_parses()
    {
        var oracle = Oracle;
        string[] failures = [.. FuzzRegressions.Files("generator").Select(f => $"{Path.GetFileName(f)}: {oracle.Check(FuzzRegressions.WithZeroData(f))}")
            .Where(r => !r.EndsWith(": ", StringComparison.Ordinal))];
        Assert.Empty(failures);
    }

    public void Dispose() => File.Delete(_mutantPath);
}
