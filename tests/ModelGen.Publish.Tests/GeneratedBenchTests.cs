using System.Globalization;
using ModelGen.TestSupport;

namespace ModelGen.Publish.Tests;

/// <summary><c>modelgen bench --engine generated,generic</c>: the compiled class is built, loaded and measured beside the generic engine.</summary>
public sealed class GeneratedBenchTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("modelgen-bench-").FullName;

    [Fact]
    public void Bench_measures_the_compiled_class_beside_the_generic_engine()
    {
        var model = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf");
        var bench = new ModelGenProcess(_cache).Modelgen("bench", model, "--engine", "generated,generic", "-p", "32", "-n", "16", "-r", "2");
        Assert.True(bench.ExitCode == 0, bench.StdErr);
        var rows = bench.StdOut.Split('\n').Where(line => line.StartsWith("| generated ") || line.StartsWith("| generic ")).ToArray();
        Assert.Equal(2, rows.Length);
        foreach (var row in rows)
        {
            // | engine | pp32 mean ± sd | tg16 mean ± sd | share |: both rates measured, so positive.
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            Assert.True(double.Parse(cells[2].Split(' ')[0], CultureInfo.InvariantCulture) > 0, row);
            Assert.True(double.Parse(cells[3].Split(' ')[0], CultureInfo.InvariantCulture) > 0, row);
        }

        // The build is cached per model header: one project, built into the cache.
        Assert.Single(Directory.GetDirectories(Path.Combine(_cache, "modelgen"), "modelgen-tiny-*"));
    }

    public void Dispose() => Directory.Delete(_cache, recursive: true);
}
