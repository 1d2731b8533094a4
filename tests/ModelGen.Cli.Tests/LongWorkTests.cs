using System.Globalization;
using System.Text.RegularExpressions;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>Long prompts, generation until the context is full, progress, and running without the reference library.</summary>
public sealed partial class LongWorkTests : IDisposable
{
    private static readonly string Micro = Path.Combine(SharedData.Models, "micro-Q8_0.gguf");

    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-long-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_prompt_from_a_file_or_stdin_continues_as_the_same_prompt_given_with_p()
    {
        const string Prompt = "Once upon a time, in a small village,";
        var file = Path.Combine(_directory, "prompt.txt");
        File.WriteAllText(file, Prompt);
        var given = CliRunner.Run("run", Micro, "-p", Prompt, "-n", "12", "--temp", "0");
        var fromFile = CliRunner.Run("run", Micro, "-f", file, "-n", "12", "--temp", "0");
        var fromStdin = CliRunner.RunWithInput(Prompt, "run", Micro, "-p", "-", "-n", "12", "--temp", "0");
        Assert.Equal(0, given.ExitCode);
        Assert.True(given.StdOut.Length > 12, given.StdOut);
        Assert.Equal(given.StdOut, fromFile.StdOut);
        Assert.Equal(given.StdOut, fromStdin.StdOut);
    }

    [Fact]
    public void A_140_kb_prompt_file_is_read_whole()
    {
        // Far beyond what argv holds in one argument (128 KiB on Linux). Prefilling 35,000 tokens would take minutes
        // here, so the context is kept small: the refusal counts every token of the file.
        var file = Path.Combine(_directory, "long.txt");
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog near the river bank. ", 2200));
        Assert.True(text.Length > 140_000);
        File.WriteAllText(file, text);

        using var model = GenericModel.Load(Micro, new ModelOptions { ContextLength = 64 });
        int promptTokens = model.Generator.TokenizePrompt(text).Length;
        var run = CliRunner.Run("run", Micro, "-f", file, "-c", "64");
        Assert.Equal(1, run.ExitCode);
        Assert.EndsWith($"modelgen: the prompt is {promptTokens} tokens but the context holds 64: shorten the prompt or raise the context length\n", run.StdErr);
    }

    [Fact]
    public void A_long_prompt_shows_its_prefill_progress()
    {
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog near the river bank. ", 25));
        using var model = GenericModel.Load(Micro);
        int promptTokens = model.Generator.TokenizePrompt(text).Length;
        Assert.InRange(promptTokens, 257, 480);

        var run = CliRunner.Run("run", Micro, "-p", text, "-n", "1", "--temp", "0");
        Assert.Equal(0, run.ExitCode);

        // Redirected stderr: a plain line per quarter of the prompt, the last one at the whole prompt.
        var matches = PrefillLine().Matches(run.StdErr);
        var done = matches.Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.InRange(done.Count, 2, 4);
        Assert.Equal(promptTokens, done[^1]);
        Assert.Equal(done.Order(), done);
        Assert.All(matches, m => Assert.Equal(promptTokens.ToString(CultureInfo.InvariantCulture), m.Groups[2].Value));
    }

    [Fact]
    public void A_short_prompt_shows_no_prefill_progress()
    {
        var run = CliRunner.Run("run", Micro, "-p", "Hello", "-n", "2", "--temp", "0");
        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotMatch(PrefillLine(), run.StdErr);
    }

    [Fact]
    public void Minus_one_generates_until_the_context_is_full_and_says_so()
    {
        // The random-weight model: it does not end its text by itself before the context is full.
        var run = CliRunner.Run("run", SharedData.TinyModel, "-p", "Once upon a time", "-n", "-1", "--temp", "0", "-c", "48");
        Assert.Equal(0, run.ExitCode);

        using var model = GenericModel.Load(SharedData.TinyModel, new ModelOptions { ContextLength = 48 });
        var expected = string.Concat(model.Generator.Generate("Once upon a time", new() { MaxTokens = -1, Sampling = SamplingOptions.Greedy }));
        var statistics = model.Generator.Statistics;
        Assert.Equal(GenerationStopReason.ContextFull, statistics.StopReason);
        Assert.Equal(48, statistics.PromptTokens + statistics.GeneratedTokens);
        Assert.Equal(expected + "\n", run.StdOut);
        Assert.Contains($"generated {statistics.GeneratedTokens} tokens", run.StdErr);
        Assert.EndsWith("modelgen: stopped: the context (48 tokens) is full\n", run.StdErr);
    }

    [Fact]
    public void The_stop_reason_names_the_token_limit_and_stop_strings()
    {
        using var model = GenericModel.Load(Micro, new ModelOptions { ContextLength = 128 });
        var limited = string.Concat(model.Generator.Generate("Hello", new() { MaxTokens = 5, Sampling = SamplingOptions.Greedy }));
        Assert.Equal(GenerationStopReason.TokenLimit, model.Generator.Statistics.StopReason);
        Assert.Equal(5, model.Generator.Statistics.GeneratedTokens);

        // Stop at the second character generated: a stop string that is certain to come.
        var stop = limited[1..2];
        _ = string.Concat(model.Generator.Generate("Hello", new() { MaxTokens = 5, Sampling = SamplingOptions.Greedy, StopStrings = [stop] }));
        Assert.Equal(GenerationStopReason.StopString, model.Generator.Statistics.StopReason);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => model.Generator.Generate("Hello", new() { MaxTokens = 5 }, cancelled.Token).ToList());
        Assert.Equal(GenerationStopReason.Cancelled, model.Generator.Statistics.StopReason);
    }

    [Fact]
    public void Bench_without_the_reference_library_says_so_in_one_line_and_measures_the_rest()
    {
        var run = CliRunner.RunWithEnvironment(new Dictionary<string, string> { ["MODELGEN_LLAMACPP_DIR"] = _directory }, "",
            "bench", Micro, "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--engine", "generic,llama.cpp");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"modelgen: skipping llama.cpp: llama.cpp {LlamaCppLibrary.Version} reference libraries not found: run eng/fetch-llamacpp.sh", run.StdErr);
        Assert.DoesNotContain("   at ", run.StdErr);
        Assert.Contains(run.StdOut.Split('\n'), l => l.StartsWith("| generic ", StringComparison.Ordinal));
        Assert.DoesNotContain("| llama.cpp", run.StdOut);
    }

    [Fact]
    public void Bench_with_only_a_missing_llama_cpp_has_nothing_to_measure()
    {
        var run = CliRunner.RunWithEnvironment(new Dictionary<string, string> { ["MODELGEN_LLAMACPP_DIR"] = _directory }, "",
            "bench", Micro, "-p", "8", "-n", "4", "-r", "1", "--engine", "llama.cpp");
        Assert.Equal(1, run.ExitCode);
        Assert.EndsWith("modelgen: bench: no engine left to measure\n", run.StdErr);
    }

    [GeneratedRegex(@"^modelgen: prompt (\d+)/(\d+) tokens$", RegexOptions.Multiline)]
    private static partial Regex PrefillLine();
}
