using ModelGen.TestSupport;
using ModelGen.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace ModelGen.Gguf.Tests;

/// <summary>
/// Mutation fuzzing of the reader: mutants of valid files (bit flips, boundary counts, truncation, moved chunks, type
/// tags, array lengths, tensor shapes) are read in full and header-only; each is accepted or refused with a
/// <see cref="GgufFormatException"/>, within 2 s and without allocating 64 MiB more than the seed. Fixed seeds, so
/// every run reads the same mutants; a failure names the mutant and writes it out for replay.
/// </summary>
public sealed class MutationFuzzTests(ITestOutputHelper output)
{
    private const int RandomSeed = 20261202;

    private static readonly FuzzOracle Reader = new("reader", ReadBothWays, typeof(GgufFormatException));

    private static void ReadBothWays(byte[] bytes)
    {
        GgufReader.ReadHeader(new MemoryStream(bytes, writable: false), "mutant.gguf");
        GgufReader.ReadHeader(new MemoryStream(bytes, writable: false), "mutant.gguf", GgufReadOptions.HeaderOnly);
    }

    [Theory]
    [InlineData("modelgen-tiny", 3000)]
    [InlineData("ggml-vocab-llama-spm", 600)]
    public void Reader_mutants_are_accepted_or_refused_with_a_format_error(string seed, int count)
    {
        var path = seed == "modelgen-tiny"
            ? Path.Combine(SharedData.RepositoryRoot, "models", seed + ".gguf")
            : Path.Combine(SharedData.Vocab, seed + ".gguf");
        var report = Reader.Run(new GgufMutator(seed, File.ReadAllBytes(path), RandomSeed), count);
        output.WriteLine(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());

        // The mutations reach both outcomes: a fuzzer whose every mutant is refused at the magic tests nothing.
        Assert.InRange(report.Refused, count / 4, count - count / 20);
    }

    [Fact]
    public void Regression_files_are_accepted_or_refused_with_a_format_error()
    {
        string[] failures = [.. FuzzRegressions.Files("reader").Select(f => $"{Path.GetFileName(f)}: {Reader.Check(File.ReadAllBytes(f))}").Where(r => !r.EndsWith(": ", StringComparison.Ordinal))];
        Assert.Empty(failures);
    }
}
