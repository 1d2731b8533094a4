extern alias generator;

using Microsoft.CodeAnalysis;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Runtime.Engine;
using generator::ModelGen.Generator;

namespace ModelGen.Generator.Tests;

/// <summary>Each diagnostic, with its stable ID and message, reported on the .gguf file instead of emitting a class.</summary>
public sealed class DiagnosticTests
{
    private static readonly string Model = ModelFiles.Get("llama", GgmlType.Q8_0);

    [Fact]
    public void A_truncated_file_is_MG0001()
    {
        var path = ModelFiles.TempPath("truncated.gguf");
        File.WriteAllBytes(path, File.ReadAllBytes(Model)[..100]);
        var diagnostic = Single(path, "MG0001");
        Assert.StartsWith("Cannot read the GGUF header of 'truncated.gguf': ", diagnostic.GetMessage());
        Assert.EndsWith("truncated.gguf: tensor count at byte 8: 48 entries need at least 32 bytes each but only 84 bytes remain", diagnostic.GetMessage());
    }

    [Fact]
    public void A_file_that_is_not_GGUF_is_MG0001()
    {
        var path = ModelFiles.TempPath("text.gguf");
        File.WriteAllText(path, "this is not a model");
        Assert.Contains("expected 'GGUF'", Single(path, "MG0001").GetMessage());
    }

    [Fact]
    public void An_unsupported_architecture_is_MG0002()
    {
        var path = BadFiles.Variant(Model, "gpt2.gguf",
            metadata: e => e.Key == "general.architecture" ? GgufValue.Of("gpt2") : e.Value);
        Assert.Equal("'gpt2.gguf' is a 'gpt2' model; ModelGen compiles llama, qwen2, qwen3, gemma3, phi3, qwen3moe", Single(path, "MG0002").GetMessage());
    }

    [Fact]
    public void A_tensor_in_a_format_without_kernels_is_MG0003()
    {
        var matrix = BadFiles.Variant(Model, "q8_1-matrix.gguf",
            tensor: t => (t.Name, t.Name == "blk.1.ffn_up.weight" ? GgmlType.Q8_1 : t.Type, t.Shape.ToArray()));
        Assert.Equal("'q8_1-matrix.gguf': tensor 'blk.1.ffn_up.weight' is q8_1, which the kernels cannot multiply", Single(matrix, "MG0003").GetMessage());

        var norm = BadFiles.Variant(Model, "q8_0-norm.gguf",
            tensor: t => (t.Name, t.Name == "output_norm.weight" ? GgmlType.Q8_0 : t.Type, t.Shape.ToArray()));
        Assert.Equal("'q8_0-norm.gguf': tensor 'output_norm.weight' is q8_0, but norms and biases must be f32 or f16", Single(norm, "MG0003").GetMessage());
    }

    [Fact]
    public void A_missing_tensor_is_MG0004()
    {
        var path = BadFiles.Variant(Model, "no-gate.gguf", tensor: t => t.Name == "blk.1.ffn_gate.weight" ? null : (t.Name, t.Type, t.Shape.ToArray()));
        Assert.Equal("'no-gate.gguf': tensor 'blk.1.ffn_gate.weight' is missing (llama needs it)", Single(path, "MG0004").GetMessage());
    }

    [Fact]
    public void A_shape_that_contradicts_the_hyper_parameters_is_MG0005()
    {
        var path = BadFiles.Variant(Model, "wide-ffn.gguf",
            metadata: e => e.Key == "llama.feed_forward_length" ? GgufValue.Of(256u) : e.Value);
        Assert.Equal("'wide-ffn.gguf': tensor 'blk.0.ffn_gate.weight' has shape [64, 192], expected [64, 256]", Single(path, "MG0005").GetMessage());
    }

    public static TheoryData<string, string, string> TensorProblems => new()
    {
        { "MG0003", "q8_1-embedding.gguf", "tensor 'token_embd.weight' is q8_1, which the kernels cannot dequantize" },
        { "MG0004", "no-down.gguf", "tensor 'blk.0.ffn_down.weight' is missing (llama needs it)" },
        { "MG0005", "short-norm.gguf", "tensor 'output_norm.weight' has shape [32], expected [64]" },
    };

    [Theory]
    [MemberData(nameof(TensorProblems))]
    public void The_generic_engine_refuses_a_tensor_with_the_words_of_the_diagnostic(string id, string name, string problem)
    {
        var path = BadFiles.Variant(Model, name, tensor: t => (t.Name, t.Type, t.Shape.ToArray()) switch
        {
            ("token_embd.weight", _, var shape) when name == "q8_1-embedding.gguf" => (t.Name, GgmlType.Q8_1, shape),
            ("blk.0.ffn_down.weight", _, _) when name == "no-down.gguf" => null,
            ("output_norm.weight", var type, _) when name == "short-norm.gguf" => (t.Name, type, [32]),
            var same => same,
        });
        Assert.Equal($"'{name}': {problem}", Single(path, id).GetMessage());
        var refused = Assert.Throws<UnsupportedModelException>(() => GenericModel.Load(path));
        Assert.Equal($"{name}: {problem}", refused.Message);
    }

    [Fact]
    public void The_generator_knows_the_formats_the_kernels_compute()
    {
        foreach (var type in Enum.GetValues<GgmlType>())
        {
            Assert.True(WeightFormats.IsSupported(type) == WeightFormatTable.IsWeightFormat((generator::ModelGen.Gguf.GgmlType)type), type.ToString());
        }
    }

    [Fact]
    public void A_missing_hyper_parameter_is_MG0006()
    {
        var path = BadFiles.Variant(Model, "no-blocks.gguf", metadata: e => e.Key == "llama.block_count" ? null : e.Value);
        Assert.Equal("'no-blocks.gguf': missing hyper-parameter llama.block_count", Single(path, "MG0006").GetMessage());
    }

    [Fact]
    public void A_class_name_that_is_not_an_identifier_is_MG0007()
    {
        var result = GeneratorHarness.Run(Model, className: "My Model");
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MG0007", diagnostic.Id);
        Assert.Equal($"'{Path.GetFileName(Model)}': 'My Model' is not a valid C# class name; set ModelGenClass/ModelGenNamespace on the AdditionalFile", diagnostic.GetMessage());
        Assert.Empty(result.GeneratedSources);
    }

    private static Diagnostic Single(string path, string id)
    {
        var result = GeneratorHarness.Run(path);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(path, diagnostic.Location.GetLineSpan().Path);
        Assert.Empty(result.GeneratedSources);
        return diagnostic;
    }
}
