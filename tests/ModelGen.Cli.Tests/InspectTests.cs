using System.Text.Json;
using ModelGen.Gguf;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

public sealed class InspectTests
{
    private static readonly string Micro = Path.Combine(SharedData.Models, "micro-Q4_K_M.gguf");

    [Fact]
    public void Text_report_lists_metadata_tensors_and_totals()
    {
        var run = CliRunner.Run("inspect", Micro);
        Assert.Equal(0, run.ExitCode);
        var lines = run.StdOut.Split('\n');
        Assert.StartsWith("micro-Q4_K_M.gguf", lines[0]);
        Assert.Contains(lines, l => l.Contains("llama.block_count") && l.TrimEnd().EndsWith(" 5"));
        Assert.Contains(lines, l => l.Contains("tokenizer.ggml.tokens") && l.Contains("string[32000]") && l.Contains("\"<unk>\", \"<s>\"") && l.Contains("31,992 more"));
        Assert.Contains(lines, l => l.Contains("Tensors (48)"));
        Assert.Contains(lines, l => l.Contains("output.weight") && l.Contains("q8_0") && l.Contains("64 × 32000") && l.Contains("2.08 MiB"));
        Assert.Contains(lines, l => l.StartsWith("Totals: 4.34 M parameters (4,342,464)", StringComparison.Ordinal) && l.Contains("6.94 bits per weight"));
        Assert.All(lines, l => Assert.True(l.Length <= 160, $"line longer than 160 columns: {l}"));
        Assert.Equal("", run.StdErr);
    }

    [Fact]
    public void Json_report_matches_the_reader()
    {
        var run = CliRunner.Run("inspect", Micro, "--json");
        Assert.Equal(0, run.ExitCode);
        using var doc = JsonDocument.Parse(run.StdOut);
        var root = doc.RootElement;
        var header = GgufReader.ReadHeader(Micro);

        Assert.Equal(3, root.GetProperty("version").GetInt32());
        Assert.Equal(header.DataOffset, root.GetProperty("dataOffset").GetInt64());
        var metadata = root.GetProperty("metadata").EnumerateArray().ToList();
        Assert.Equal(header.Metadata.Entries.Select(e => e.Key), metadata.Select(m => m.GetProperty("key").GetString()));
        var tokens = metadata.Single(m => m.GetProperty("key").GetString() == "tokenizer.ggml.tokens");
        Assert.Equal(32000, tokens.GetProperty("length").GetInt64());
        Assert.Equal("<0x00>", tokens.GetProperty("items")[3].GetString());
        Assert.Equal(1e-5f, metadata.Single(m => m.GetProperty("key").GetString() == "llama.attention.layer_norm_rms_epsilon").GetProperty("value").GetSingle());

        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(header.Tensors.Select(t => t.Name), tensors.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(header.Tensors.Select(t => t.Offset), tensors.Select(t => t.GetProperty("offset").GetInt64()));
        Assert.Equal([192L, 64L], tensors.Single(t => t.GetProperty("name").GetString() == "blk.0.ffn_down.weight").GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(header.ParameterCount, root.GetProperty("totals").GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void Without_a_file_it_inspects_the_default_model()
    {
        var run = CliRunner.Run("inspect");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("modelgen-fortunes.gguf  —  ModelGen fortunes (llama)", run.StdOut.Split('\n')[0]);
    }

    [Fact]
    public void Bad_files_get_one_line_and_a_nonzero_exit()
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-cli-").FullName;
        try
        {
            var truncated = Path.Combine(dir, "cut.gguf");
            File.WriteAllBytes(truncated, File.ReadAllBytes(Micro).AsSpan(0, 5000).ToArray());
            foreach (var (path, expected) in new[]
            {
                (truncated, "cut.gguf: key 'tokenizer.ggml.tokens' array length at byte 565"),
                (dir, "is a directory"),
                (Path.Combine(dir, "missing.gguf"), "missing.gguf"),
                (Path.Combine(SharedData.Vocab, "ggml-vocab-qwen2.gguf.inp"), "magic at byte 0"),
            })
            {
                var run = CliRunner.Run("inspect", path);
                Assert.Equal(1, run.ExitCode);
                Assert.Equal("", run.StdOut);
                var errorLines = run.StdErr.TrimEnd('\n').Split('\n');
                Assert.Single(errorLines);
                Assert.StartsWith("modelgen: ", errorLines[0]);
                Assert.Contains(expected, errorLines[0]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
