namespace ModelGen.TestSupport.Fuzzing;

/// <summary>
/// Mutants that once broke a target, kept in <c>tests/FuzzRegressions/TARGET/</c> and named by what they broke;
/// each test project replays its targets' files through the same oracle every run.
/// </summary>
public static class FuzzRegressions
{
    public static string Directory { get; } = Path.Combine(SharedData.RepositoryRoot, "tests", "FuzzRegressions");

    /// <summary>The regression files of <paramref name="target"/> (<c>reader</c>, <c>tokenizer</c>, <c>loader</c>, <c>generator</c>).</summary>
    public static string[] Files(string target)
    {
        var folder = Path.Combine(Directory, target);
        return System.IO.Directory.Exists(folder) ? [.. System.IO.Directory.GetFiles(folder, "*.gguf").Order(StringComparer.Ordinal)] : [];
    }
}
