using System.Diagnostics;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>Outputs lose no data: devices, FIFOs, folders and the command's own inputs are refused; links are followed.</summary>
public sealed class OutputPathTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-outputs-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("synth")]
    [InlineData("logits")]
    [InlineData("quantize")]
    public void A_device_is_refused_by_every_command_that_writes(string command)
    {
        var input = Synthesize();
        var run = command switch
        {
            "synth" => CliRunner.Run("synth", "--shape", "micro", "-o", "/dev/full"),
            "logits" => CliRunner.Run("logits", input, "--prompt", "hi", "-o", "/dev/full"),
            _ => CliRunner.Run("quantize", input, "/dev/full", "Q8_0"),
        };
        Assert.Equal(1, run.ExitCode);
        var option = command == "quantize" ? "OUT" : "-o";
        Assert.Equal($"modelgen: {option}: /dev/full is a character device, not a regular file; give a file path\n", run.StdErr);
    }

    [Fact]
    public void A_fifo_is_refused_and_left_as_it_is()
    {
        var fifo = Path.Combine(_directory, "pipe.gguf");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        var run = CliRunner.Run("synth", "--shape", "micro", "-o", fifo);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"modelgen: -o: {fifo} is a FIFO, not a regular file; give a file path\n", run.StdErr);
        using (var test = Process.Start("test", ["-p", fifo]))
        {
            test.WaitForExit();
            Assert.Equal(0, test.ExitCode);
        }

        Assert.Single(Directory.GetFileSystemEntries(_directory));
    }

    [Fact]
    public void A_folder_is_refused()
    {
        var run = CliRunner.Run("synth", "--shape", "micro", "-o", _directory);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"modelgen: -o: {_directory} is a directory, not a regular file; give a file path\n", run.StdErr);
    }

    [Fact]
    public void A_missing_folder_is_named()
    {
        var path = Path.Combine(_directory, "no-such-folder", "out.gguf");
        var run = CliRunner.Run("synth", "--shape", "micro", "-o", path);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"modelgen: -o: the folder {Path.GetDirectoryName(path)} does not exist\n", run.StdErr);
    }

    [Theory]
    [InlineData("same path")]
    [InlineData("symbolic link")]
    [InlineData("hard link")]
    public void Quantize_refuses_to_overwrite_its_input(string how)
    {
        var input = Synthesize(GgmlType.F16);
        var before = File.ReadAllBytes(input);
        var output = how switch
        {
            "same path" => input,
            "symbolic link" => File.CreateSymbolicLink(Path.Combine(_directory, "link.gguf"), input).FullName,
            _ => HardLink(input, Path.Combine(_directory, "hard.gguf")),
        };

        var run = CliRunner.Run("quantize", input, output, "Q8_0");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"modelgen: OUT: {output} is the input {input}; write to another file\n", run.StdErr);
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void An_output_that_is_a_symbolic_link_replaces_the_file_it_names_and_stays_a_link()
    {
        var target = Path.Combine(_directory, "target.gguf");
        File.WriteAllText(target, "old contents");
        var link = File.CreateSymbolicLink(Path.Combine(_directory, "link.gguf"), target).FullName;

        var run = CliRunner.Run("synth", "--shape", "micro", "-o", link);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(target, File.ResolveLinkTarget(link, returnFinalTarget: false)!.FullName);
        using (var written = GgufFile.Open(target))
        {
            Assert.Equal("llama", written.Metadata.Architecture);
        }

        Assert.Equal(["link.gguf", "target.gguf"], Directory.GetFileSystemEntries(_directory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_temporary_file()
    {
        var target = Path.Combine(_directory, "out.npy");
        File.WriteAllText(target, "old contents");
        var failure = Assert.Throws<IOException>(() => OutputFile.Write(target, (Stream stream) =>
        {
            stream.Write(new byte[100_000]);
            throw new IOException("disk full");
        }));
        Assert.Equal("disk full", failure.Message);
        Assert.Equal("old contents", File.ReadAllText(target));
        Assert.Equal(["out.npy"], Directory.GetFileSystemEntries(_directory).Select(Path.GetFileName));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_replaced_file_keeps_its_permissions()
    {
        var target = Path.Combine(_directory, "out.gguf");
        File.WriteAllText(target, "old contents");
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        OutputFile.Write(target, (Stream stream) => stream.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(target));
    }

    private string Synthesize(GgmlType type = GgmlType.F32)
    {
        var path = Path.Combine(_directory, $"micro-{type}.gguf");
        ModelSynthesizer.Write(new SynthesisOptions { Shape = ModelShape.Micro, WeightType = type }, path);
        return path;
    }

    private static string HardLink(string existing, string link)
    {
        using var ln = Process.Start("ln", [existing, link]);
        ln.WaitForExit();
        Assert.Equal(0, ln.ExitCode);
        return link;
    }
}
