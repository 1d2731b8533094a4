extern alias generator;

using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using generator::ModelGen.Generator;

namespace ModelGen.Generator.Tests;

/// <summary>Runs <see cref="ModelGenerator"/> as the compiler does, and compiles and loads what it emits.</summary>
internal static class GeneratorHarness
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    /// <summary>
    /// Every assembly the test runs with, so emitted code sees ModelGen.Runtime and the framework; not the generator,
    /// whose copy of the GGUF types would clash with ModelGen.Gguf's, as it never meets them in a user's compilation.
    /// </summary>
    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.Ordinal) && Path.GetFileName(p) != "ModelGen.Generator.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray());

    public static CSharpCompilation NewCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "CompiledModels" + Guid.NewGuid().ToString("N"),
            sources.Select(s => CSharpSyntaxTree.ParseText(s, ParseOptions)),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true,
                optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>A driver over <paramref name="files"/>: (path, ModelGenClass, ModelGenNamespace), null metadata left unset.</summary>
    public static GeneratorDriver NewDriver(params (string Path, string? ClassName, string? Namespace)[] files)
    {
        var texts = files.Select(f => (AdditionalText)new FileText(f.Path)).ToImmutableArray();
        var options = new Options(files.ToDictionary(f => f.Path, f => (f.ClassName, f.Namespace)));
        return CSharpGeneratorDriver.Create(
            [new ModelGenerator().AsSourceGenerator()], texts, ParseOptions, options,
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
    }

    /// <summary>The generator's result for one model file: its source, or its diagnostics.</summary>
    public static GeneratorRunResult Run(string path, string? className = "TestModel", string? ns = "Compiled")
    {
        var driver = NewDriver((path, className, ns)).RunGenerators(NewCompilation());
        return driver.GetRunResult().Results.Single();
    }

    public static string GenerateSource(string path, string className = "TestModel")
    {
        var result = Run(path, className);
        Assert.Empty(result.Diagnostics);
        Assert.Null(result.Exception);
        return result.GeneratedSources.Single().SourceText.ToString();
    }

    /// <summary>Compiles <paramref name="source"/> into a collectible context; unload it when done.</summary>
    public static (AssemblyLoadContext Context, Assembly Assembly) CompileAndLoad(string source)
    {
        var compilation = NewCompilation(source);
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        image.Position = 0;
        var context = new AssemblyLoadContext("compiled model", isCollectible: true);
        return (context, context.LoadFromStream(image));
    }

    private sealed class FileText(string path) : AdditionalText
    {
        public override string Path => path;

        /// <summary>GGUF is binary: the generator reads the file by path, never as text.</summary>
        public override SourceText? GetText(CancellationToken cancellationToken = default) => null;
    }

    private sealed class Options(Dictionary<string, (string? ClassName, string? Namespace)> files) : AnalyzerConfigOptionsProvider
    {
        public override AnalyzerConfigOptions GlobalOptions { get; } = new Values(new() { ["build_property.RootNamespace"] = "RootNs" });

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Values.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile)
        {
            var values = new Dictionary<string, string>();
            if (files.TryGetValue(textFile.Path, out var f))
            {
                if (f.ClassName is not null)
                {
                    values["build_metadata.AdditionalFiles.ModelGenClass"] = f.ClassName;
                }

                if (f.Namespace is not null)
                {
                    values["build_metadata.AdditionalFiles.ModelGenNamespace"] = f.Namespace;
                }
            }

            return new Values(values);
        }
    }

    private sealed class Values(Dictionary<string, string> values) : AnalyzerConfigOptions
    {
        public static readonly Values Empty = new([]);

        public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
    }
}
