using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>Mistyped command lines: one line on stderr naming the option and what it accepts, exit code 1, no output.</summary>
public sealed class CarelessUserTests
{
    private static readonly string Micro = Path.Combine(SharedData.Models, "micro-Q8_0.gguf");

    [Theory]
    [InlineData("run --temperature 0.5", "modelgen run: unrecognized option '--temperature' (see 'modelgen run --help')")]
    [InlineData("run -p hi --tmep 0 -n 3", "modelgen run: unrecognized option '--tmep' (see 'modelgen run --help')")]
    [InlineData("inspect --jsn", "modelgen inspect: unrecognized option '--jsn' (see 'modelgen inspect --help')")]
    [InlineData("runn -p hi", "modelgen: unknown command 'runn' (see 'modelgen --help')")]
    [InlineData("", "modelgen: give a command (see 'modelgen --help')")]
    [InlineData("run -p hi -n -2", "modelgen run: -n must be -1 (until the context is full) or at least 0; got '-2' (see 'modelgen run --help')")]
    [InlineData("run -p hi --temp -0.5", "modelgen run: --temp must be a finite number at least 0; got '-0.5' (see 'modelgen run --help')")]
    [InlineData("run -p hi --temp Infinity", "modelgen run: --temp must be a finite number at least 0; got 'Infinity' (see 'modelgen run --help')")]
    [InlineData("run -p hi --top-p 1.5", "modelgen run: --top-p must be between 0 and 1; got '1.5' (see 'modelgen run --help')")]
    [InlineData("run -p hi --min-p -0.1", "modelgen run: --min-p must be between 0 and 1; got '-0.1' (see 'modelgen run --help')")]
    [InlineData("run -p hi --top-k -1", "modelgen run: --top-k must be at least 0; got '-1' (see 'modelgen run --help')")]
    [InlineData("run -p hi --repeat-penalty 0", "modelgen run: --repeat-penalty must be above 0 and at most 2; got '0' (see 'modelgen run --help')")]
    [InlineData("run -p hi --presence-penalty NaN", "modelgen run: --presence-penalty must be between -2 and 2; got 'NaN' (see 'modelgen run --help')")]
    [InlineData("run -p hi -c 0", "modelgen run: -c must be at least 1; got '0' (see 'modelgen run --help')")]
    [InlineData("run -p hi -t 0", "modelgen run: -t must be between 1 and 1024; got '0' (see 'modelgen run --help')")]
    [InlineData("run -p hi --threads 5000", "modelgen run: --threads must be between 1 and 1024; got '5000' (see 'modelgen run --help')")]
    [InlineData("chat --top-p 2", "modelgen chat: --top-p must be between 0 and 1; got '2' (see 'modelgen chat --help')")]
    [InlineData("chat -c -5", "modelgen chat: -c must be at least 1; got '-5' (see 'modelgen chat --help')")]
    [InlineData("logits --prompt hi -o x.npy -t -1", "modelgen logits: -t must be between 1 and 1024; got '-1' (see 'modelgen logits --help')")]
    [InlineData("perplexity -f x.txt -t 0", "modelgen perplexity: -t must be between 1 and 1024; got '0' (see 'modelgen perplexity --help')")]
    [InlineData("bench -r 0", "modelgen bench: -r must be at least 1; got '0' (see 'modelgen bench --help')")]
    [InlineData("bench -p -1", "modelgen bench: -p must be at least 0; got '-1' (see 'modelgen bench --help')")]
    [InlineData("bench -t 0", "modelgen bench: -t must be between 1 and 1024; got '0' (see 'modelgen bench --help')")]
    [InlineData("quantize a.gguf b.gguf Q4_0 -t 0", "modelgen quantize: -t must be between 1 and 1024; got '0' (see 'modelgen quantize --help')")]
    [InlineData("serve --parallel 0", "modelgen serve: --parallel must be between 1 and 64; got '0' (see 'modelgen serve --help')")]
    [InlineData("serve --port 70000", "modelgen serve: --port must be between 0 and 65535; got '70000' (see 'modelgen serve --help')")]
    [InlineData("serve --host example.com", "modelgen serve: --host must be an IP address or localhost; got 'example.com' (see 'modelgen serve --help')")]
    [InlineData("serve --queue -1", "modelgen serve: --queue must be at least 0; got '-1' (see 'modelgen serve --help')")]
    public void A_bad_command_line_is_one_line_naming_the_option(string commandLine, string expected)
    {
        var run = CliRunner.Run(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.StdOut);
        Assert.Equal(expected + "\n", run.StdErr);
    }

    [Fact]
    public void An_empty_stop_text_is_refused()
    {
        var run = CliRunner.Run("run", "-p", "hi", "--stop", "");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("modelgen run: --stop must be a non-empty text; got '' (see 'modelgen run --help')\n", run.StdErr);
    }

    [Fact]
    public void Serve_on_a_port_in_use_is_one_line_and_exit_code_1()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var run = CliRunner.Run("serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, run.ExitCode);
        Assert.EndsWith($"modelgen: Failed to bind to address http://127.0.0.1:{port}: address already in use.\n", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Both_zero_in_bench_is_refused()
    {
        var run = CliRunner.Run("bench", Micro, "-p", "0", "-n", "0");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("modelgen: bench: -p and -n are both 0, so there is nothing to measure\n", run.StdErr);
    }

    [Fact]
    public void Help_still_goes_to_stdout()
    {
        var run = CliRunner.Run("run", "--help");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("--temp", run.StdOut);
        Assert.Contains("-1 until the context is full", run.StdOut);
        Assert.Equal("", run.StdErr);
    }

    [Fact]
    public void Run_needs_exactly_one_of_prompt_and_file()
    {
        var run = CliRunner.Run("run", "-p", "hi", "-f", "prompt.txt");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("modelgen: give exactly one of -p and -f\n", run.StdErr);
        Assert.Equal("modelgen: give exactly one of -p and -f\n", CliRunner.Run("run", "-n", "3").StdErr);
    }
}
