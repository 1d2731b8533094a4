using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>The engine commands as a user runs them: stdout carries the result, stderr the rest.</summary>
public sealed class EngineCommandTests
{
    private static readonly string Micro = Path.Combine(SharedData.Models, "micro-Q8_0.gguf");

    [Fact]
    public void Run_streams_the_greedy_continuation_of_the_default_model_from_the_class_compiled_into_modelgen()
    {
        var run = CliRunner.Run("run", "-p", "Once upon a time", "-n", "20", "--temp", "0");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("compiled into modelgen", run.StdErr);

        // The generic engine on the same file: the compiled class must continue identically.
        using var model = GenericModel.Load(SharedData.DefaultModel);
        var expected = string.Concat(model.Generator.Generate("Once upon a time", new() { MaxTokens = 20, Sampling = SamplingOptions.Greedy }));
        Assert.Equal(expected + "\n", run.StdOut);
        Assert.Contains($"generated {model.Generator.Statistics.GeneratedTokens} tokens", run.StdErr);
    }

    [Fact]
    public void Run_with_another_context_length_runs_the_default_model_on_the_generic_engine()
    {
        var run = CliRunner.Run("run", "-p", "Once upon a time", "-n", "4", "--temp", "0", "-c", "128");
        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotContain("compiled into modelgen", run.StdErr);
        Assert.Contains("context 128) loaded in", run.StdErr);
    }

    [Fact]
    public void Run_with_a_seed_is_reproducible()
    {
        var first = CliRunner.Run("run", Micro, "-p", "Hello", "-n", "12", "--seed", "7", "--temp", "1.2");
        var second = CliRunner.Run("run", Micro, "-p", "Hello", "-n", "12", "--seed", "7", "--temp", "1.2");
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.StdOut, second.StdOut);
        Assert.True(first.StdOut.Length > 12, first.StdOut);
    }

    [Theory]
    [InlineData("", "the prompt is empty")]
    [InlineData("LONG", "the context holds 64")]
    public void Run_refuses_bad_prompts_in_one_line(string prompt, string expected)
    {
        var run = CliRunner.Run("run", Micro, "-c", "64", "-p", prompt == "LONG" ? string.Concat(Enumerable.Repeat("many words ", 100)) : prompt);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.StdOut);
        var last = run.StdErr.TrimEnd('\n').Split('\n')[^1];
        Assert.StartsWith("modelgen: ", last);
        Assert.Contains(expected, last);
    }

    [Fact]
    public void Bench_prints_a_row_per_engine_and_the_roofline()
    {
        var run = CliRunner.Run("bench", Micro, "-p", "8", "-n", "4", "-r", "2", "-t", "1", "--engine", "generic,llama.cpp");
        Assert.Equal(0, run.ExitCode);
        var lines = run.StdOut.Split('\n');
        foreach (var engine in new[] { "generic", "llama.cpp" })
        {
            // | engine | pp8 tok/s | tg4 tok/s | share |: both rates measured, so positive.
            var cells = lines.Single(l => l.StartsWith($"| {engine} ", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries);
            Assert.True(double.Parse(cells[2].Split(' ')[0], CultureInfo.InvariantCulture) > 0, cells[2]);
            Assert.True(double.Parse(cells[3].Split(' ')[0], CultureInfo.InvariantCulture) > 0, cells[3]);
        }

        Assert.Contains(lines, l => l.StartsWith("roofline: ", StringComparison.Ordinal) && l.EndsWith(" tok/s", StringComparison.Ordinal));
    }

    [Fact]
    public void Bench_writes_json_and_csv_with_the_same_measurements_as_its_table()
    {
        var json = CliRunner.Run("bench", Micro, "-p", "8", "-n", "4", "-r", "2", "-t", "1", "--engine", "generic", "-o", "json");
        Assert.Equal(0, json.ExitCode);
        using var document = System.Text.Json.JsonDocument.Parse(json.StdOut);
        var root = document.RootElement;
        Assert.Equal("micro-Q8_0.gguf", root.GetProperty("model").GetString());
        Assert.Equal(8, root.GetProperty("n_prompt").GetInt32());
        Assert.Equal(4, root.GetProperty("n_gen").GetInt32());
        Assert.Equal(2, root.GetProperty("repetitions").GetInt32());
        var engine = Assert.Single(root.GetProperty("engines").EnumerateArray());
        Assert.Equal("generic", engine.GetProperty("engine").GetString());
        double decode = engine.GetProperty("decode_tokens_per_second").GetDouble();
        Assert.True(engine.GetProperty("prefill_tokens_per_second").GetDouble() > 0);
        Assert.True(decode > 0);
        double roofline = root.GetProperty("bandwidth_bytes_per_second").GetDouble() / root.GetProperty("bytes_per_token").GetInt64();
        Assert.Equal(roofline, root.GetProperty("roofline_tokens_per_second").GetDouble(), 6);
        Assert.Equal(decode / roofline, engine.GetProperty("decode_roofline_share").GetDouble(), 6);

        var csv = CliRunner.Run("bench", Micro, "-p", "8", "-n", "0", "-r", "1", "-t", "1", "--engine", "generic", "--output", "csv");
        Assert.Equal(0, csv.ExitCode);
        var lines = csv.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("model,engine,threads,n_prompt,n_gen,repetitions,prefill_tokens_per_second,prefill_stddev,decode_tokens_per_second,decode_stddev,decode_roofline_share,", lines[0]);
        var cells = lines[1].Split(',');
        Assert.Equal(["\"micro-Q8_0.gguf\"", "\"generic\"", "1", "8", "0", "1"], cells[..6]);
        Assert.True(double.Parse(cells[6], CultureInfo.InvariantCulture) > 0);
        Assert.Equal("0", cells[8]);

        var wrong = CliRunner.Run("bench", Micro, "-o", "xml");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("-o must be md, json or csv", wrong.StdErr);
    }

    [Fact]
    public void Run_refuses_a_model_it_cannot_run()
    {
        var run = CliRunner.Run("run", Path.Combine(SharedData.Vocab, "ggml-vocab-qwen2.gguf"), "-p", "hi");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("modelgen: ggml-vocab-qwen2.gguf: tensor 'blk.0.attn_norm.weight' is missing (qwen2 needs it)", run.StdErr.Trim());
    }

    [Theory]
    [InlineData("ggml-vocab-llama-spm.gguf", "Hello world! <s> 12345 naïve 🙂", true)]
    [InlineData("ggml-vocab-qwen2.gguf", "Hello world! <|im_start|> 12345 naïve 🙂", false)]
    public void Tokenize_prints_what_llama_tokenize_gives(string vocab, string text, bool bos)
    {
        var path = Path.Combine(SharedData.Vocab, vocab);
        var run = bos ? CliRunner.Run("tokenize", path, "--text", text, "--bos") : CliRunner.Run("tokenize", path, "--text", text);
        Assert.Equal(0, run.ExitCode);
        using var reference = LlamaVocabulary.Load(path);
        var expected = reference.Tokenize(Encoding.UTF8.GetBytes(text), addSpecial: bos, parseSpecial: true);
        Assert.Equal(string.Join(' ', expected) + "\n", run.StdOut);
    }

    [Theory]
    [InlineData("ggml-vocab-llama-spm.gguf")]
    [InlineData("ggml-vocab-qwen2.gguf")]
    public void Tokenize_reads_a_file_as_raw_bytes_as_llama_tokenize_takes_them(string vocab)
    {
        var path = Path.Combine(SharedData.Vocab, vocab);
        var file = Path.GetTempFileName();
        try
        {
            // A lone continuation byte, a truncated sequence, an overlong encoding and 0xFF between valid text.
            byte[] bytes = [.. "Hello "u8, 0x80, .. " w"u8, 0xE2, 0x82, .. "orld "u8, 0xC0, 0xAF, 0xFF, .. " naïve"u8];
            File.WriteAllBytes(file, bytes);
            var run = CliRunner.Run("tokenize", path, "--file", file);
            Assert.Equal(0, run.ExitCode);
            using var reference = LlamaVocabulary.Load(path);
            var expected = reference.Tokenize(bytes, addSpecial: false, parseSpecial: true);
            Assert.Equal(string.Join(' ', expected) + "\n", run.StdOut);

            // Decoding the file first would have turned each invalid sequence into U+FFFD, which tokenizes differently.
            var replaced = reference.Tokenize(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes)), addSpecial: false, parseSpecial: true);
            Assert.NotEqual(expected, replaced);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Logits_writes_an_npy_of_every_position()
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-logits-").FullName;
        try
        {
            var npy = Path.Combine(dir, "out.npy");
            var run = CliRunner.Run("logits", Micro, "--prompt", "The cat sat", "-o", npy);
            Assert.Equal(0, run.ExitCode);

            using var model = GenericModel.Load(Micro);
            var tokens = model.Generator.TokenizePrompt("The cat sat");
            Assert.Equal(string.Join(' ', tokens) + "\n", run.StdOut);

            var bytes = File.ReadAllBytes(npy);
            Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], bytes[..8]);
            int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
            Assert.Equal(0, (10 + headerLength) % 64);
            Assert.Contains($"'descr': '<f4', 'fortran_order': False, 'shape': ({tokens.Length}, 32000)", header);
            var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(10 + headerLength));
            Assert.Equal(model.EvaluateAll(tokens), data.ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Perplexity_ends_with_the_ppl_line()
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-ppl-").FullName;
        try
        {
            var text = Path.Combine(dir, "text.txt");
            File.WriteAllText(text, string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog near the river bank. ", 20)));
            var run = CliRunner.Run("perplexity", Micro, "-f", text, "-c", "64");
            Assert.Equal(0, run.ExitCode);

            using var model = GenericModel.Load(Micro, new ModelOptions { ContextLength = 64 });
            var tokens = model.Tokenizer.Tokenize(File.ReadAllText(text), addSpecial: true, parseSpecial: false);
            var ppl = Perplexity.Compute(model, tokens, 64);
            var lines = run.StdOut.TrimEnd('\n').Split('\n');
            Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"PPL = {ppl.Value:0.0000}"), lines[^1]);
            Assert.StartsWith("[1]", lines[0]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Chat_answers_each_line_and_quits_at_end_of_input()
    {
        var run = CliRunner.RunWithInput("Hello there\nWhat next?\n", "chat", "-n", "8", "--temp", "0");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("chat template plain", run.StdErr);
        Assert.Equal(2, run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
