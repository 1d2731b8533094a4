using System.Collections.Concurrent;
using ModelGen.Gguf;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Tokenization;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Tokenization;

/// <summary>The shared test vocabularies (shared/vocab/ggml-vocab-NAME.gguf), each loaded once by us and by llama.cpp.</summary>
public static class Vocabularies
{
    /// <summary>Every vocabulary with llama.cpp's test cases beside it.</summary>
    public static readonly string[] Names = ["llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2", "starcoder", "deepseek-coder"];

    public static TheoryData<string> All => [.. Names];

    private static readonly ConcurrentDictionary<string, Lazy<Loaded>> Cache = new();

    /// <summary>A vocabulary as both implementations load it.</summary>
    public sealed record Loaded(string Path, Tokenizer Tokenizer, LlamaVocabulary Llama);

    public static string PathOf(string name) => System.IO.Path.Combine(SharedData.Vocab, $"ggml-vocab-{name}.gguf");

    public static Loaded Get(string name) => Cache.GetOrAdd(name, n => new Lazy<Loaded>(() => Load(PathOf(n)))).Value;

    /// <summary>Loads <paramref name="path"/> both ways (not cached).</summary>
    public static Loaded Load(string path)
    {
        Tokenizer tokenizer;
        using (var file = GgufFile.Open(path))
        {
            tokenizer = Tokenizer.FromGguf(file.Metadata);
        }

        return new Loaded(path, tokenizer, LlamaVocabulary.Load(path));
    }

    /// <summary>A copy of vocabulary <paramref name="name"/> with one metadata key set, in a temporary file.</summary>
    public static string WriteWith(string name, string key, GgufValue value)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"modelgen-vocab-{name}-{key}-{value.Value}-{Environment.ProcessId}.gguf");
        using var file = GgufFile.Open(PathOf(name));
        var writer = new GgufWriter();
        foreach (var entry in file.Metadata.Entries.Where(e => e.Key != key))
        {
            writer.Add(entry.Key, entry.Value);
        }

        writer.Add(key, value);
        writer.Write(path);
        return path;
    }
}
