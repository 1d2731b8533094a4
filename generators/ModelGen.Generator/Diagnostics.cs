using Microsoft.CodeAnalysis;
using ModelGen.Gguf;
using Microsoft.CodeAnalysis.Text;

namespace ModelGen.Generator;

/// <summary>Every diagnostic the model compiler reports, each with a stable ID, reported on the .gguf AdditionalFile.</summary>
internal static class Diagnostics
{
    private const string Category = "ModelGen";

    public static readonly DiagnosticDescriptor UnreadableFile = new(
        "MG0001", "GGUF file cannot be read", "Cannot read the GGUF header of '{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedArchitecture = new(
        "MG0002", "Unsupported model architecture", "'{0}' is a '{1}' model; ModelGen compiles {2}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor UnsupportedTensorType = new(
        "MG0003", "Unsupported tensor type", "'{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor MissingTensor = new(
        "MG0004", "Missing tensor", "'{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InconsistentShape = new(
        "MG0005", "Tensor shape inconsistent with the hyper-parameters", "'{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidHyperParameters = new(
        "MG0006", "Invalid hyper-parameters", "'{0}': {1}", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor InvalidClassName = new(
        "MG0007", "Invalid class or namespace name", "'{0}': '{1}' is not a valid C# {2} name; set ModelGenClass/ModelGenNamespace on the AdditionalFile", Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    /// <summary>All descriptors by ID, to rebuild a diagnostic from its equatable form.</summary>
    public static readonly IReadOnlyDictionary<string, DiagnosticDescriptor> ById = new[]
    {
        UnreadableFile, UnsupportedArchitecture, UnsupportedTensorType, MissingTensor, InconsistentShape, InvalidHyperParameters, InvalidClassName,
    }.ToDictionary(d => d.Id);
}

/// <summary>A diagnostic as a pipeline value: equatable, holding no Roslyn <see cref="Location"/> until it is reported.</summary>
internal sealed record DiagnosticInfo(string Id, string Path, EquatableArray<string> Arguments)
{
    /// <summary>Longest a message argument may be: a build log shows one line per diagnostic, whatever the file holds.</summary>
    private const int MaxArgumentLength = 1000;

    /// <summary>
    /// A diagnostic whose arguments, which quote the file, are escaped and cut (<see cref="DisplayText"/>): a build log
    /// or IDE shows them without control characters, however hostile the file.
    /// </summary>
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, string path, params string[] arguments) =>
        new(descriptor.Id, path, new EquatableArray<string>(arguments.Select(a => DisplayText.Escape(a, MaxArgumentLength)).ToArray()));

    public Diagnostic ToDiagnostic()
    {
        // An AdditionalFile has no syntax tree: the location names the file, at its start.
        var location = Location.Create(Path, default, new LinePositionSpan(default, default));
        return Diagnostic.Create(Diagnostics.ById[Id], location, Arguments.Cast<object>().ToArray());
    }
}
