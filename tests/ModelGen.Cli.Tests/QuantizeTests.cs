using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

public sealed class QuantizeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-quantize-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_quantized_model_opens_and_generates()
    {
        var input = Synthesize(GgmlType.F16);
        var output = Path.Combine(_directory, "micro-Q4_K_M.gguf");
        var run = CliRunner.Run("quantize", input, output, "q4_k_m");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("wrote", run.StdErr);

        using (var file = GgufFile.Open(output))
        {
            Assert.Equal(15u, file.Metadata.GetUInt32("general.file_type"));
            Assert.Equal(2u, file.Metadata.GetUInt32("general.quantization_version"));

            // Micro's rows of 64 and 192 fit no K-quant block: Q4_K falls back to Q5_0, the output's Q6_K to Q8_0.
            Assert.Equal(GgmlType.Q5_0, file.FindTensor("blk.0.attn_q.weight")!.Type);
            Assert.Equal(GgmlType.Q8_0, file.FindTensor("output.weight")!.Type);
            Assert.Equal(GgmlType.F32, file.FindTensor("output_norm.weight")!.Type);
        }

        using var model = GenericModel.Load(output, new ModelOptions { ContextLength = 64, Threads = 2 });
        var text = string.Concat(model.Generator.Generate("Once upon a time", new() { MaxTokens = 8 }));
        Assert.Equal(8, model.Generator.Statistics.GeneratedTokens);
        Assert.NotEmpty(text);
    }

    [Fact]
    public void A_bad_type_is_one_line_and_exit_code_1()
    {
        var output = Path.Combine(_directory, "out.gguf");
        var run = CliRunner.Run("quantize", Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf"), output, "Q4_K_Z");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("modelgen: unknown quantization type 'Q4_K_Z'; known: F16, Q4_0", run.StdErr);
        Assert.Single(run.StdErr.TrimEnd().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_quantized_input_is_one_line_and_exit_code_1()
    {
        var input = Synthesize(GgmlType.Q8_0);
        var run = CliRunner.Run("quantize", input, Path.Combine(_directory, "out.gguf"), "Q4_0");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"modelgen: {Path.GetFileName(input)} is not a float model (tensor 'token_embd.weight' is q8_0): quantize from F32, F16 or BF16",
            run.StdErr.TrimEnd());
    }

    private string Synthesize(GgmlType type)
    {
        var path = Path.Combine(_directory, $"micro-{type}.gguf");
        ModelSynthesizer.Write(new SynthesisOptions
        {
            Shape = ModelShape.Micro,
            WeightType = type,
            VocabularyDonor = Path.Combine(SharedData.Vocab, "ggml-vocab-llama-spm.gguf"),
        }, path);
        return path;
    }
}
