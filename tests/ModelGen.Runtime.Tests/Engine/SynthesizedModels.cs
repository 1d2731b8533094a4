using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Engine;

/// <summary>Models made by the synthesizer for the engine tests, written once per test run into a temporary folder.</summary>
public sealed class SynthesizedModels : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-models-").FullName;
    private readonly Dictionary<string, string> _paths = [];
    private readonly Lock _lock = new();

    /// <summary>
    /// Micro's shape widened so every row is a whole number of 256-element super-blocks, as K-quants need
    /// (dim 256, 2 blocks, 4 heads of 64, 2 KV heads, FFN 512).
    /// </summary>
    public static ModelShape KQuantShape { get; } = new("k256", 256, 2, 4, 2, 512, 512);

    /// <summary>A micro-shaped model of <paramref name="arch"/> with matrices of <paramref name="type"/>.</summary>
    public string Get(string arch, GgmlType type, bool tied = false)
    {
        var shape = type.Info().BlockSize == 256 ? KQuantShape : ModelShape.Micro;
        var name = $"{arch}-{type}{(tied ? "-tied" : "")}.gguf";
        lock (_lock)
        {
            if (!_paths.TryGetValue(name, out var path))
            {
                path = Path.Combine(_directory, name);
                var donor = arch == "llama" ? "ggml-vocab-llama-spm.gguf" : "ggml-vocab-qwen2.gguf";
                ModelSynthesizer.Write(new SynthesisOptions
                {
                    Shape = shape,
                    Architecture = arch,
                    WeightType = type,
                    TiedEmbeddings = tied,
                    VocabularyDonor = Path.Combine(SharedData.Vocab, donor),

                    // gemma3: a window far shorter than the tests' prompts, and global blocks among the windowed ones.
                    SlidingWindow = 8,
                    SlidingWindowPattern = 2,
                }, path);
                _paths[name] = path;
            }

            return path;
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
