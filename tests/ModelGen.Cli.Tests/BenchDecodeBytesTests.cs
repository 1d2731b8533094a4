using ModelGen.Cli.Commands;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;

namespace ModelGen.Cli.Tests;

/// <summary>The bytes a decode step reads, which the bench's roofline divides the bandwidth by.</summary>
public sealed class BenchDecodeBytesTests
{
    [Fact]
    public void A_mixture_of_experts_reads_only_the_share_of_experts_a_token_uses()
    {
        var dir = Directory.CreateTempSubdirectory("modelgen-decode-bytes-").FullName;
        try
        {
            var path = Path.Combine(dir, "moe.gguf");
            ModelSynthesizer.Write(new SynthesisOptions { Shape = ModelShape.Micro, Architecture = "qwen3moe", WeightType = GgmlType.Q8_0, ExpertCount = 8, ExpertsUsed = 2 }, path);
            var header = GgufReader.ReadHeader(path, GgufReadOptions.HeaderOnly);
            long experts = header.Tensors.Where(t => t.Shape.Count == 3).Sum(t => t.ByteLength);
            long others = header.Tensors.Where(t => t.Shape.Count != 3 && t.Name != "token_embd.weight").Sum(t => t.ByteLength);
            Assert.True(experts > 0 && others > 0);
            Assert.Equal(others + experts / 4, BenchCommand.DecodeBytes(header));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
