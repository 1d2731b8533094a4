using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace ModelGen.Generator;

/// <summary>
/// Compiles each <c>.gguf</c> AdditionalFile into a model class (see <see cref="ModelEmitter"/>). The file's item
/// metadata <c>ModelGenClass</c> and <c>ModelGenNamespace</c> name the class; without them the class is named after the
/// file, in the project's root namespace.
/// </summary>
/// <remarks>
/// Two cached steps: <see cref="FileStep"/> identifies a file by path, length, write time and the names asked for
/// (a stat, no reading); <see cref="SpecStep"/> reads its header into an equatable <see cref="ModelSpec"/>, so an edit
/// elsewhere in the project neither rereads the file nor re-emits the class.
/// </remarks>
[Generator(LanguageNames.CSharp)]
public sealed class ModelGenerator : IIncrementalGenerator
{
    public const string FileStep = "ModelGen.File";
    public const string SpecStep = "ModelGen.Spec";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var specs = context.AdditionalTextsProvider
            .Where(static text => text.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Select(static (pair, _) => Identify(pair.Left, pair.Right))
            .WithTrackingName(FileStep)
            .Select(static (file, _) => ReadSpec(file))
            .WithTrackingName(SpecStep);

        context.RegisterSourceOutput(specs, static (production, result) =>
        {
            if (result.Diagnostic is { } diagnostic)
            {
                production.ReportDiagnostic(diagnostic.ToDiagnostic());
            }
            else
            {
                var spec = result.Spec!;
                var hint = (spec.Namespace.Length > 0 ? spec.Namespace + "." : "") + spec.ClassName + ".g.cs";
                production.AddSource(hint, SourceText.From(ModelEmitter.Emit(spec), Encoding.UTF8));
            }
        });
    }

    private static ModelFile Identify(AdditionalText text, AnalyzerConfigOptionsProvider options)
    {
        var fileOptions = options.GetOptions(text);
        var className = fileOptions.TryGetValue("build_metadata.AdditionalFiles.ModelGenClass", out var c) && !string.IsNullOrWhiteSpace(c)
            ? c.Trim()
            : ClassNameFromFile(text.Path);
        var ns = fileOptions.TryGetValue("build_metadata.AdditionalFiles.ModelGenNamespace", out var n) && !string.IsNullOrWhiteSpace(n)
            ? n.Trim()
            : options.GlobalOptions.TryGetValue("build_property.RootNamespace", out var root) ? root.Trim() : "";

#pragma warning disable RS1035 // The .gguf file is this generator's input; its length and write time are its identity for caching.
        var info = new FileInfo(text.Path);
        return info.Exists
            ? new ModelFile(text.Path, info.Length, info.LastWriteTimeUtc.Ticks, className, ns)
            : new ModelFile(text.Path, -1, 0, className, ns);
#pragma warning restore RS1035
    }

    private static ModelSpecResult ReadSpec(ModelFile file)
    {
        if (!IsIdentifier(file.ClassName))
        {
            return new(null, DiagnosticInfo.Create(Diagnostics.InvalidClassName, file.Path, Path.GetFileName(file.Path), file.ClassName, "class"));
        }

        if (file.Namespace.Length > 0 && !file.Namespace.Split('.').All(IsIdentifier))
        {
            return new(null, DiagnosticInfo.Create(Diagnostics.InvalidClassName, file.Path, Path.GetFileName(file.Path), file.Namespace, "namespace"));
        }

        try
        {
            // GGUF is binary, and AdditionalText only offers text: the file is read by path, header only.
#pragma warning disable RS1035 // The .gguf file is this generator's input.
            using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
#pragma warning restore RS1035
            return ModelReader.Read(file, stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(null, DiagnosticInfo.Create(Diagnostics.UnreadableFile, file.Path, Path.GetFileName(file.Path), e.Message));
        }
    }

    /// <summary>A name usable as it is: valid identifier characters, and not a reserved keyword such as <c>class</c>.</summary>
    private static bool IsIdentifier(string name) =>
        SyntaxFacts.IsValidIdentifier(name) && !SyntaxFacts.IsReservedKeyword(SyntaxFacts.GetKeywordKind(name));

    /// <summary><c>tinyllama-1.1b.Q4_K_M.gguf</c> gives <c>Tinyllama11bQ4KM</c>: letters and digits, each run capitalised.</summary>
    internal static string ClassNameFromFile(string path)
    {
        var name = new StringBuilder();
        bool startOfRun = true;
        foreach (char ch in Path.GetFileNameWithoutExtension(path))
        {
            if (!char.IsLetterOrDigit(ch))
            {
                startOfRun = true;
                continue;
            }

            name.Append(startOfRun ? char.ToUpperInvariant(ch) : ch);
            startOfRun = false;
        }

        if (name.Length == 0 || char.IsDigit(name[0]))
        {
            name.Insert(0, "Model");
        }

        return name.ToString();
    }
}
