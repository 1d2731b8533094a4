namespace ModelGen.Cli;

/// <summary>The model the project ships in <c>models/</c>, copied beside the executable.</summary>
internal static class DefaultModel
{
    public const string FileName = "modelgen-fortunes.gguf";

    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "models", FileName);
}
