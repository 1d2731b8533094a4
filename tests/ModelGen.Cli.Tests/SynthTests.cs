using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

public sealed class SynthTests
{
    [Fact]
    public void The_shipped_default_model_is_what_synth_makes()
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-synth-").FullName;
        try
        {
            var path = Path.Combine(dir, "tiny.gguf");
            var run = CliRunner.Run("synth", "--shape", "tiny", "--type", "F16", "-o", path);
            Assert.Equal(0, run.ExitCode);
            var shipped = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf");
            Assert.True(File.ReadAllBytes(shipped).AsSpan().SequenceEqual(File.ReadAllBytes(path)),
                "models/modelgen-tiny.gguf differs from `modelgen synth --shape tiny --type F16`: regenerate it");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("qwen2", false)]
    [InlineData("qwen3", false)]
    public void Synthesized_models_have_the_tensors_of_their_architecture(string arch, bool tied)
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-synth-").FullName;
        try
        {
            var path = Path.Combine(dir, "m.gguf");
            var donor = Path.Combine(SharedData.Vocab, "ggml-vocab-qwen2.gguf");
            ModelSynthesizer.Write(new SynthesisOptions { Shape = ModelShape.Micro, Architecture = arch, TiedEmbeddings = tied, VocabularyDonor = donor }, path);
            using var file = GgufFile.Open(path);
            var md = file.Metadata;
            Assert.Equal(arch, md.Architecture);
            Assert.Equal(64u, md.GetUInt32($"{arch}.embedding_length"));
            Assert.Equal(5u, md.GetUInt32($"{arch}.block_count"));
            Assert.Equal(4u, md.GetUInt32($"{arch}.attention.head_count_kv"));
            Assert.Equal(151936, md.GetStringArray("tokenizer.ggml.tokens").Length);
            Assert.Equal("qwen2", md.GetString("tokenizer.ggml.pre"));

            Assert.Equal([64L, 151936], file.FindTensor("token_embd.weight")!.Shape);
            Assert.Equal([64L, 32], file.FindTensor("blk.4.attn_k.weight")!.Shape);
            Assert.Equal([192L, 64], file.FindTensor("blk.0.ffn_down.weight")!.Shape);
            Assert.Equal(tied, file.FindTensor("output.weight") is null);
            Assert.Equal(arch == "qwen2", file.FindTensor("blk.0.attn_q.bias") is not null);
            Assert.Equal(arch == "qwen3", file.FindTensor("blk.0.attn_k_norm.weight") is not null);

            // Weights are random but not degenerate: the embedding has spread, the norms sit around 1.
            var embedding = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetRow(file.FindTensor("token_embd.weight")!, 7));
            Assert.InRange(Rms(embedding), 0.2, 0.8);
            var norm = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetData(file.FindTensor("output_norm.weight")!));
            Assert.All(norm.ToArray(), w => Assert.InRange(w, 0.8f, 1.2f));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Rms(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (var x in v)
        {
            sum += x * x;
        }

        return Math.Sqrt(sum / v.Length);
    }
}
