using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelGen.Cli.Publishing;
using ModelGen.Gguf;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>
/// <c>modelgen bench</c>'s cold start: the child process each measurement starts, and the load, first-token and peak
/// memory columns the parent makes of it. Timings are only checked for sense, never for speed.
/// </summary>
public sealed class BenchColdStartTests
{
    private static readonly string Tiny = SharedData.TinyModel;

    [Fact]
    public void A_child_reports_ready_then_first_token_and_waits_for_its_input_to_close()
    {
        using var child = StartChild("--child", "generic", "-p", "8", "-n", "4", "-t", "1");
        AssertParkedAfterItsReports(child);
    }

    [Fact]
    public void A_generated_child_runs_the_class_compiled_into_a_library_the_parent_built()
    {
        var cache = Directory.CreateTempSubdirectory("modelgen-bench-").FullName;
        try
        {
            var compiled = GeneratedModel.Build(Tiny, cache);
            using var child = StartChild("--child", "generated", "--compiled", compiled, "-p", "8", "-n", "4", "-t", "1");
            AssertParkedAfterItsReports(child);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { 3.0 }, 3.0, 3.0, 3.0)]
    [InlineData(new[] { 5.0, 1.0, 4.0 }, 4.0, 1.0, 5.0)]
    [InlineData(new[] { 3.0, 1.0, 2.0, 10.0 }, 2.5, 1.0, 10.0)]
    public void A_spread_is_the_median_least_and_greatest(double[] samples, double median, double min, double max) =>
        Assert.Equal(new Commands.Spread(median, min, max), Commands.Spread.Of(samples));

    [Fact]
    public void A_generated_child_without_its_library_is_refused_in_one_line()
    {
        var run = CliRunner.Run("bench", Tiny, "--child", "generated", "-p", "8");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.StdOut);
        Assert.Equal("modelgen: --child generated needs --compiled, the library the bench built for the model\n", run.StdErr);
    }

    [Fact]
    public void Bench_reports_load_first_token_and_peak_memory_of_fresh_processes_in_json_csv_and_its_table()
    {
        var json = CliRunner.Run("bench", Tiny, "-p", "8", "-n", "4", "-r", "2", "-t", "1", "--engine", "generic,llama.cpp", "-o", "json");
        Assert.Equal(0, json.ExitCode);
        Assert.Contains("modelgen: starting generic, llama.cpp in fresh processes, in turns", json.StdErr);
        using var document = JsonDocument.Parse(json.StdOut);
        var root = document.RootElement;
        Assert.Equal(8, root.GetProperty("first_token_n_prompt").GetInt32());
        long weightsRead = root.GetProperty("bytes_per_token").GetInt64();
        var engines = root.GetProperty("engines").EnumerateArray().ToArray();
        Assert.Equal(["generic", "llama.cpp"], engines.Select(e => e.GetProperty("engine").GetString()));
        foreach (var engine in engines)
        {
            var load = Figure(engine, "load_seconds");
            var firstToken = Figure(engine, "first_token_seconds");
            var peak = Figure(engine, "peak_rss_bytes");
            foreach (var figure in new[] { load, firstToken, peak })
            {
                Assert.True(figure.Min > 0 && figure.Min <= figure.Median && figure.Median <= figure.Max, $"{figure}");
            }

            // Every run loads before its first token, so each order statistic of the loads is at most the same one of the first tokens.
            Assert.True(load.Min <= firstToken.Min && load.Median <= firstToken.Median && load.Max <= firstToken.Max, $"{load} {firstToken}");
            Assert.True(firstToken.Max < 60, $"{firstToken}");

            // The prefill read every weight a token needs, and a mapped page read is resident; a whole process is more.
            Assert.True(peak.Min >= weightsRead, $"{peak} < {weightsRead}");
            Assert.True(peak.Max < 4L << 30, $"{peak}");
        }

        var csv = CliRunner.Run("bench", Tiny, "-p", "0", "-n", "4", "-r", "1", "-t", "1", "--engine", "generic", "-o", "csv");
        Assert.Equal(0, csv.ExitCode);
        var lines = csv.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        var header = lines[0].Split(',');
        Assert.Equal(
            ["first_token_n_prompt", "load_seconds_median", "load_seconds_min", "load_seconds_max", "first_token_seconds_median", "first_token_seconds_min",
             "first_token_seconds_max", "peak_rss_bytes_median", "peak_rss_bytes_min", "peak_rss_bytes_max"],
            header[11..]);
        var cells = lines[1].Split(',');
        Assert.Equal(header.Length, cells.Length);

        // No pp test, so the cold start prefills one token; one repetition, so median, least and greatest are one run.
        Assert.Equal("1", cells[11]);
        var values = cells[12..].Select(cell => double.Parse(cell, CultureInfo.InvariantCulture)).ToArray();
        Assert.All(values, value => Assert.True(value > 0, lines[1]));
        Assert.Equal([values[0], values[0]], values[1..3]);
        Assert.True(values[0] <= values[3], $"load {values[0]} s, first token {values[3]} s");
        Assert.True(values[6] >= GgufReader.ReadHeader(Tiny, GgufReadOptions.HeaderOnly).Tensors.Where(t => t.Name != "token_embd.weight").Sum(t => t.ByteLength));

        var table = CliRunner.Run("bench", Tiny, "-p", "8", "-n", "0", "-r", "1", "-t", "1", "--engine", "generic");
        Assert.Equal(0, table.ExitCode);
        var tableLines = table.StdOut.Split('\n');
        Assert.EndsWith("| load ms            | first token ms     | peak RSS MiB       |", tableLines.Single(l => l.StartsWith("| engine ", StringComparison.Ordinal)));
        var row = tableLines.Single(l => l.StartsWith("| generic ", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries);

        // "median (min–max)", all one run here.
        Assert.Matches(@"^(\d+) \(\1–\1\)$", row[5]);
        Assert.Matches(@"^(\d+) \(\1–\1\)$", row[6]);
        Assert.Matches(@"^(\d+) \(\1–\1\)$", row[7]);
        Assert.Contains("cold start: a fresh process to the model loaded, and to the first token's logits (pp8); peak RSS its VmHWM; median (min–max) of 1", table.StdOut);
    }

    private sealed record Figures(double Median, double Min, double Max);

    private static Figures Figure(JsonElement engine, string name) =>
        new(engine.GetProperty(name + "_median").GetDouble(), engine.GetProperty(name + "_min").GetDouble(), engine.GetProperty(name + "_max").GetDouble());

    /// <summary><c>modelgen bench</c> on the tiny model with <paramref name="args"/>, its standard input left open.</summary>
    private static Process StartChild(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "modelgen.dll"), "bench", Tiny }.Concat(args))
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    /// <summary>The protocol: two lines, then the process stays (so its memory can be read) until its input closes, and exits 0.</summary>
    private static void AssertParkedAfterItsReports(Process child)
    {
        var errors = child.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("ready", child.StandardOutput.ReadLine());
            Assert.Equal("first-token", child.StandardOutput.ReadLine());
            Assert.False(child.WaitForExit(TimeSpan.FromMilliseconds(300)), errors.IsCompleted ? errors.Result : "");
            Assert.Contains(File.ReadLines($"/proc/{child.Id}/status"), line => line.StartsWith("VmHWM:", StringComparison.Ordinal));

            child.StandardInput.Close();
            Assert.True(child.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Equal(0, child.ExitCode);
            Assert.Equal("", child.StandardOutput.ReadToEnd());
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }
}
