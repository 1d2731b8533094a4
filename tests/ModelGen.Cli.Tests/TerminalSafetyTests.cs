using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>Text from a file never reaches the terminal with its control characters: it is shown escaped.</summary>
public sealed class TerminalSafetyTests : IDisposable
{
    /// <summary>Clears the screen, returns the carriage, reverses the text direction and forges a line.</summary>
    private const string Hostile = "Evil\u001b[2J\rName\u202e\nmodelgen: fake line";

    private const string HostileEscaped = @"Evil\x1b[2J\rName\u202e\nmodelgen: fake line";

    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-terminal-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Inspect_escapes_names_keys_values_and_tensor_names()
    {
        var path = Path.Combine(_directory, "hostile.gguf");
        new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("general.name", GgufValue.Of(Hostile))
            .Add("evil.\u001b]0;title\u0007.key", GgufValue.Of(1u))
            .Add("evil.value", GgufValue.Of("a\u001b[31mred\u0085b"))
            .AddTensor("w\u001b[1m\u2028", GgmlType.F32, [4], new byte[16])
            .Write(path);

        var run = CliRunner.Run("inspect", path);
        Assert.Equal(0, run.ExitCode);
        var lines = run.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal($"hostile.gguf  —  {HostileEscaped} (llama)", lines[0]);
        Assert.Contains(lines, l => l.StartsWith(@"  evil.\x1b]0;title\x07.key  u32", StringComparison.Ordinal));
        // String values are quoted with their own escapes (GgufValue.Format); what those leave, such as C1 controls, is escaped too.
        Assert.Contains(lines, l => l.StartsWith("  evil.value", StringComparison.Ordinal) && l.Contains(@"""a\u001b[31mred\x85b""", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(@"  w\x1b[1m\u2028  f32", StringComparison.Ordinal));
        AssertNoControlCharacters(run.StdOut);

        // The JSON report stays exact: JSON has its own escapes.
        var json = CliRunner.Run("inspect", path, "--json");
        Assert.Contains(@"""Evil\u001B[2J\rName\u202E\nmodelgen: fake line""", json.StdOut);
    }

    [Fact]
    public void The_loaded_line_escapes_the_model_name()
    {
        var path = Path.Combine(_directory, "named.gguf");
        ModelSynthesizer.Write(new SynthesisOptions { Shape = ModelShape.Micro, Name = Hostile }, path);
        var run = CliRunner.Run("run", path, "-p", "Once", "-n", "2", "--temp", "0");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith($"modelgen: named.gguf: {HostileEscaped} (llama, 5 layers, dim 64, vocab 672, context 512) loaded in ", run.StdErr);
        AssertNoControlCharacters(run.StdErr);
    }

    [Fact]
    public void Error_messages_escape_what_they_quote_of_the_file()
    {
        var path = Path.Combine(_directory, "arch.gguf");
        new GgufWriter().Add("general.architecture", GgufValue.Of("llama\u001b[2J\r")).Write(path);
        var run = CliRunner.Run("run", path, "-p", "hi");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith(@"modelgen: arch.gguf: architecture 'llama\x1b[2J\r' is not supported", run.StdErr);
        AssertNoControlCharacters(run.StdErr);
    }

    [Fact]
    public void Generated_text_is_escaped_on_a_terminal_and_exact_when_redirected()
    {
        const string Generated = "line one\n\tindented\u001b[2J\rover\u202e";
        Assert.Equal("line one\n\tindented\\x1b[2J\\rover\\u202e", CommandLine.ForStdout(Generated, stdoutIsTerminal: true));
        Assert.Equal(Generated, CommandLine.ForStdout(Generated, stdoutIsTerminal: false));
    }

    /// <summary>Only line ends remain of the characters <see cref="DisplayText"/> escapes.</summary>
    private static void AssertNoControlCharacters(string text)
    {
        var unsafeCharacters = text.Where(c => c != '\n' && DisplayText.IsUnsafe(c)).Select(c => $"U+{(int)c:X4}").ToList();
        Assert.True(unsafeCharacters.Count == 0, string.Join(' ', unsafeCharacters));
    }
}
