extern alias generator;

using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using Xunit.Abstractions;
using generator::ModelGen.Generator;

namespace ModelGen.Generator.Tests;

/// <summary>The generator as the compiler runs it: caching, determinism, naming, and the shape of what it emits.</summary>
public sealed class GeneratorTests(ITestOutputHelper output)
{
    [Fact]
    public void An_unrelated_edit_reuses_every_cached_step()
    {
        var path = ModelFiles.Get("llama", GgmlType.Q8_0);
        var compilation = GeneratorHarness.NewCompilation("namespace App { public static class Program { public static void Main() { } } }");
        var driver = GeneratorHarness.NewDriver((path, "TestModel", "Compiled")).RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.Single(first.GeneratedSources);
        Assert.All(first.TrackedSteps[ModelGenerator.SpecStep].SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));

        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace App { internal sealed class Unrelated { } }"));
        var second = driver.RunGenerators(edited).GetRunResult().Results.Single();
        foreach (var step in new[] { ModelGenerator.FileStep, ModelGenerator.SpecStep })
        {
            var outputs = second.TrackedSteps[step].SelectMany(s => s.Outputs).ToArray();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}"));
        }

        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.Equal(first.GeneratedSources.Single().SourceText.ToString(), second.GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void The_same_file_gives_the_same_source_byte_for_byte()
    {
        var path = ModelFiles.Get("qwen2", GgmlType.Q8_0);
        var copy = Path.Combine(Directory.CreateTempSubdirectory("modelgen-copy").FullName, Path.GetFileName(path));
        File.Copy(path, copy);
        var source = GeneratorHarness.GenerateSource(path);
        Assert.Equal(source, GeneratorHarness.GenerateSource(path));
        Assert.Equal(source, GeneratorHarness.GenerateSource(copy));
    }

    private const string Kernels = "global::ModelGen.Kernels.";
    private const string Q4_0 = "global::ModelGen.Kernels.Formats.Q4_0";
    private const string Q8_0 = "global::ModelGen.Kernels.Formats.Q8_0";

    [Fact]
    public void Every_call_names_its_tensor_format_pair_and_shape_as_constants_and_fuses_what_reads_one_input()
    {
        var path = ModelFiles.Get("llama", GgmlType.Q4_0);
        var source = GeneratorHarness.GenerateSource(path);
        var shape = ModelShape.Micro;
        Assert.Contains($"public const int EmbeddingLength = {shape.EmbeddingLength};", source);
        Assert.Contains($"public const int LayerCount = {shape.BlockCount};", source);
        Assert.Contains("public const float RmsEpsilon = 1E-05f;", source);
        for (int block = 0; block < shape.BlockCount; block++)
        {
            Assert.Contains($"private void Block{block}(global::ModelGen.Runtime.Engine.SequenceBatch batch)", source);
            Assert.Contains($"// blk.{block}.attn_q.weight: q4_0, {shape.EmbeddingLength} rows of {shape.EmbeddingLength}", source);
            Assert.Contains($"{Kernels}MatrixKernels.MatMul<{Q4_0}, {Q8_0}, {Q4_0}, {Q8_0}, {Q4_0}, {Q8_0}>(xb, _blk{block}_attn_q, q, _blk{block}_attn_k, k, _blk{block}_attn_v, v, Scratch, Pool);", source);
            Assert.Contains($"{Kernels}MatrixKernels.MatMulSwiGlu<{Q4_0}, {Q8_0}, {Q4_0}, {Q8_0}>(xb, _blk{block}_ffn_gate, _blk{block}_ffn_up, gate, up, Scratch, Pool);", source);
            Assert.Contains($"Project<{Q4_0}, {Q8_0}>(_blk{block}_ffn_down, gate, xb, n);", source);

            // Residual adds ride on the norm that follows them: the next block's first, or the output norm.
            Assert.Contains($"AddNormRows(x, xb, xb, _blk{block}_ffn_norm); // blk.{block}.ffn_norm.weight", source);
            Assert.Contains(
                block == 0 ? "NormRows(x, xb, _blk0_attn_norm);" : $"AddNormRows(x, xb, xb, _blk{block}_attn_norm);",
                source);
        }

        Assert.Contains("AddNormRows(x, xb, xb, _output_norm);", source);
        Assert.DoesNotContain("Activations.Add(", source);

        Assert.DoesNotContain($"Block{shape.BlockCount}(", source);
        Assert.DoesNotContain("switch", source);
        Assert.DoesNotContain("WeightFormats", source);
    }

    [Fact]
    public void A_feed_forward_width_that_is_not_whole_SwiGlu_chunks_is_compiled_unfused()
    {
        var source = GeneratorHarness.GenerateSource(ModelFiles.Get("llama", GgmlType.BF16, ModelFiles.OddFeedForwardMicro));
        Assert.DoesNotContain("MatMulSwiGlu", source);
        Assert.Contains("Project<global::ModelGen.Kernels.Formats.BF16, global::ModelGen.Kernels.Formats.BF16>(_blk1_ffn_gate, xb, gate, n);", source);
        Assert.Contains("global::ModelGen.Kernels.Ops.Activations.SwiGlu(gate, up);", source);
    }

    [Theory]
    [InlineData("tinyllama-1.1b.Q4_K_M.gguf", "Tinyllama11bQ4KM")]
    [InlineData("models/modelgen-tiny.gguf", "ModelgenTiny")]
    [InlineData("7b.gguf", "Model7b")]
    public void A_class_name_is_derived_from_the_file_name(string path, string expected) =>
        Assert.Equal(expected, ModelGenerator.ClassNameFromFile(path));

    [Fact]
    public void Without_metadata_the_class_is_named_after_the_file_in_the_root_namespace()
    {
        var path = ModelFiles.Get("llama", GgmlType.F16);
        var result = GeneratorHarness.Run(path, className: null, ns: null);
        var generated = result.GeneratedSources.Single();
        Assert.Equal("RootNs.LlamaMicroF16.g.cs", generated.HintName);
        Assert.Contains("public sealed partial class LlamaMicroF16 : global::ModelGen.Runtime.Compiled.CompiledModel, global::ModelGen.Runtime.Generation.IForwardPass, global::ModelGen.Runtime.Generation.ILanguageModel", generated.SourceText.ToString());
    }

    [Fact]
    public void Generating_a_1_1B_model_takes_under_200_ms()
    {
        // The 1.1B shape's header with the small vocabulary: the header, not the weights, is what the generator reads.
        // The weights are written as zeros of the right size, in a sparse file.
        var path = ModelFiles.TempPath("tinyllama-shape.gguf");
        BadFiles.WriteHeaderOnlyModel(path, ModelShape.TinyLlama1_1B, GgmlType.Q8_0);
        GeneratorHarness.GenerateSource(path); // JIT the generator once.

        var timer = Stopwatch.StartNew();
        var source = GeneratorHarness.GenerateSource(path);
        timer.Stop();
        Assert.Contains("private void Block21(global::ModelGen.Runtime.Engine.SequenceBatch batch)", source);
        Assert.True(timer.ElapsedMilliseconds < 200, $"{timer.ElapsedMilliseconds} ms");
        output.WriteLine($"1.1B header: generated {source.Length:N0} characters in {timer.Elapsed.TotalMilliseconds:F1} ms");
    }
}
