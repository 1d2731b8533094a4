using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;

namespace ModelGen.Generator.Tests;

/// <summary>Small synthesized models, written once per test run into a temporary folder.</summary>
internal static class ModelFiles
{
    private static readonly string Folder = Directory.CreateTempSubdirectory("modelgen-generator-tests").FullName;
    private static readonly Dictionary<string, string> Written = [];

    /// <summary>Wide enough for the 256-element blocks of the K-quants.</summary>
    public static ModelShape KQuantMicro { get; } = new("kquant-micro", 256, 2, 4, 2, 512, 256);

    /// <summary>A feed-forward width that is not whole chunks of SwiGLU's 16 (possible with float weights): compiled unfused.</summary>
    public static ModelShape OddFeedForwardMicro { get; } = new("odd-ffn-micro", 64, 2, 8, 4, 200, 256);

    public static string Get(string architecture, GgmlType type, ModelShape? shape = null, bool tied = false)
    {
        shape ??= ModelShape.Micro;
        var name = $"{architecture}-{shape.Name}-{type}{(tied ? "-tied" : "")}.gguf";
        lock (Written)
        {
            if (!Written.TryGetValue(name, out var path))
            {
                path = Path.Combine(Folder, name);
                // gemma3: a window shorter than the tests' prompts, and global blocks among the windowed ones.
                ModelSynthesizer.Write(new SynthesisOptions
                {
                    Shape = shape, Architecture = architecture, WeightType = type, TiedEmbeddings = tied, SlidingWindow = 8, SlidingWindowPattern = 2,
                }, path);
                Written[name] = path;
            }

            return path;
        }
    }

    public static string TempPath(string name) => Path.Combine(Folder, name);
}
