using Microsoft.CodeAnalysis;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Generator.Tests;

/// <summary>
/// The whole generated source of a few models, compared exactly with files under <c>Baselines/</c>, so a change to the
/// emitter shows as a readable diff of what users get. <c>MODELGEN_UPDATE_BASELINES=1</c> rewrites the files instead.
/// </summary>
public sealed class BaselineTests
{
    private const string UpdateVariable = "MODELGEN_UPDATE_BASELINES";

    /// <summary>llama with the 32-element path, qwen2's biases, qwen3's query and key norms, a tied K-quant, and gemma3's post-norms and GeGLU, phi3's fused projections, qwen3moe's experts.</summary>
    public static TheoryData<string, string, GgmlType, bool> Models => new()
    {
        { "llama-q8_0-micro", "llama", GgmlType.Q8_0, false },
        { "qwen2-q8_0-micro", "qwen2", GgmlType.Q8_0, false },
        { "qwen3-q4_0-micro", "qwen3", GgmlType.Q4_0, false },
        { "llama-q3_k-tied", "llama", GgmlType.Q3_K, true },
        { "gemma3-q8_0-tied", "gemma3", GgmlType.Q8_0, true },
        { "phi3-q8_0-micro", "phi3", GgmlType.Q8_0, false },
        { "qwen3moe-q8_0-micro", "qwen3moe", GgmlType.Q8_0, false },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void The_generated_source_is_the_baseline(string baseline, string architecture, GgmlType type, bool tied)
    {
        var shape = type == GgmlType.Q3_K ? ModelFiles.KQuantMicro : ModelShape.Micro;
        var source = GeneratorHarness.GenerateSource(ModelFiles.Get(architecture, type, shape, tied));
        var path = Path.Combine(BaselineFolder(), baseline + ".cs.baseline");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(path, source);
            return;
        }

        Assert.True(File.Exists(path), $"no baseline {path}; run the tests with {UpdateVariable}=1 to write it");
        var difference = FirstDifference(File.ReadAllText(path), source);
        Assert.True(difference is null, $"{path}: {difference}\n(run with {UpdateVariable}=1 to accept the new source, and review the diff)");
    }

    [Fact]
    public void Types_in_the_models_namespace_named_like_runtime_types_do_not_break_the_build()
    {
        var source = GeneratorHarness.GenerateSource(ModelFiles.Get("qwen2", GgmlType.Q8_0));
        const string lookalikes = """
            namespace Compiled
            {
                public class Tokenizer { }
                public class F16 { }
                public class F32 { }
                public class Q8_0 { }
                public class MatrixKernels { }
                public class WeightMatrix { }
                public class GgufFile { }
                public class GgmlType { }
                public class ModelConfig { }
                public class RopeStyle { }
                public class CompiledModel { }
                public class CompiledTensor { }
                public class Span<T> { }
                public class ReadOnlySpan<T> { }
                public class MethodImplAttribute { }
                public class GeneratedCodeAttribute { }
                public class ModelGen { }
                public class System { }
            }
            """;
        var errors = GeneratorHarness.NewCompilation(source, lookalikes).GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(errors);
    }

    /// <summary>The first line that differs, both versions shown; null when the texts are equal.</summary>
    private static string? FirstDifference(string expected, string actual)
    {
        var want = expected.Split('\n');
        var have = actual.Split('\n');
        for (int i = 0; i < Math.Max(want.Length, have.Length); i++)
        {
            var (w, h) = (i < want.Length ? want[i] : "(end of file)", i < have.Length ? have[i] : "(end of file)");
            if (w != h)
            {
                return $"line {i + 1} differs\n  baseline:  {w}\n  generated: {h}";
            }
        }

        return null;
    }

    /// <summary>
    /// The checkout's Baselines folder, found from the repository root: CI builds map source paths (/_/...), so the
    /// compiler's idea of this file's path does not lead there.
    /// </summary>
    private static string BaselineFolder() => Path.Combine(SharedData.RepositoryRoot, "tests", "ModelGen.Generator.Tests", "Baselines");
}
