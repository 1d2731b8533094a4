namespace ModelGen.TestSupport;

/// <summary>
/// Locates the reference data beside the repository (<c>../shared/models</c>, <c>../shared/vocab</c>):
/// CI clones the project with <c>shared/</c> next to it. Files are read in place, never copied.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The <c>shared</c> folder.</summary>
    public static string Directory => Root.Value;

    /// <summary><c>shared/models</c>.</summary>
    public static string Models => Path.Combine(Directory, "models");

    /// <summary><c>shared/vocab</c>.</summary>
    public static string Vocab => Path.Combine(Directory, "vocab");

    /// <summary>The model <c>modelgen</c> runs when given none (trained by eng/train-default-model, compiled into the CLI).</summary>
    public static string DefaultModel => Path.Combine(RepositoryRoot, "models", "modelgen-fortunes.gguf");

    /// <summary>The project's synthesized random-weight model: small and fast, what tests run when any model will do.</summary>
    public static string TinyModel => Path.Combine(RepositoryRoot, "models", "modelgen-tiny.gguf");

    /// <summary>The repository root (the folder holding ModelGen.sln).</summary>
    public static string RepositoryRoot { get; } = FindUp(AppContext.BaseDirectory, "ModelGen.sln")
        ?? throw new InvalidOperationException("ModelGen.sln not found above " + AppContext.BaseDirectory);

    /// <summary>Every <c>.gguf</c> in shared/models and shared/vocab.</summary>
    public static IEnumerable<string> AllGgufFiles =>
        System.IO.Directory.GetFiles(Models, "*.gguf").Concat(System.IO.Directory.GetFiles(Vocab, "*.gguf")).Order(StringComparer.Ordinal);

    private static string FindRoot()
    {
        if (Environment.GetEnvironmentVariable("MODELGEN_SHARED_DIR") is { Length: > 0 } env)
        {
            return env;
        }

        var candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
        return System.IO.Directory.Exists(Path.Combine(candidate, "models"))
            ? candidate
            : throw new InvalidOperationException(
                $"reference data not found at {candidate}: clone the project beside shared/ or set MODELGEN_SHARED_DIR");
    }

    private static string? FindUp(string start, string marker)
    {
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, marker)))
            {
                return d.FullName;
            }
        }

        return null;
    }
}
