using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Fuzzing;

/// <summary>
/// The small valid files the runtime's fuzz tests mutate, built once per run: vocabularies cut down from the shared
/// ones (a few thousand tokens, so a mutant loads in milliseconds and mutations hit its structure, not its bulk) and a
/// synthesized qwen3 model with such a vocabulary.
/// </summary>
public sealed class FuzzSeeds : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelgen-fuzz-seeds-").FullName;
    private readonly Lazy<byte[]> _bytePairVocabulary;
    private readonly Lazy<byte[]> _sentencePieceVocabulary;
    private readonly Lazy<byte[]> _qwen3;

    public FuzzSeeds()
    {
        _bytePairVocabulary = new(() => CutVocabulary("ggml-vocab-qwen2.gguf", 2000));
        _sentencePieceVocabulary = new(() => CutVocabulary("ggml-vocab-llama-spm.gguf", 1000));
        _qwen3 = new(() =>
        {
            var donor = Path.Combine(_directory, "qwen2-vocab-2000.gguf");
            File.WriteAllBytes(donor, BytePairVocabulary);
            var path = Path.Combine(_directory, "qwen3-tiny.gguf");
            ModelSynthesizer.Write(new SynthesisOptions
            {
                Shape = ModelShape.Tiny,
                Architecture = "qwen3",
                WeightType = GgmlType.Q8_0,
                VocabularyDonor = donor,
            }, path);
            return File.ReadAllBytes(path);
        });
    }

    /// <summary>The first 2000 tokens of the qwen2 vocabulary (byte-level BPE), with the merges among them.</summary>
    public byte[] BytePairVocabulary => _bytePairVocabulary.Value;

    /// <summary>The first 1000 tokens of the llama SentencePiece vocabulary, with their scores and types.</summary>
    public byte[] SentencePieceVocabulary => _sentencePieceVocabulary.Value;

    /// <summary>A qwen3 model of the tiny shape with Q8_0 weights and <see cref="BytePairVocabulary"/>.</summary>
    public byte[] Qwen3 => _qwen3.Value;

    /// <summary>The default model, llama with its own SentencePiece vocabulary.</summary>
    public static byte[] DefaultModel => File.ReadAllBytes(Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf"));

    /// <summary>
    /// A shared vocabulary's metadata with its per-token arrays cut to the first <paramref name="tokens"/> tokens, and
    /// only the merges whose halves and result are among them.
    /// </summary>
    private static byte[] CutVocabulary(string name, int tokens)
    {
        var header = GgufReader.ReadHeader(Path.Combine(SharedData.Vocab, name));
        var kept = header.Metadata.GetStringArray("tokenizer.ggml.tokens").Take(tokens).ToHashSet(StringComparer.Ordinal);
        var writer = new GgufWriter();
        foreach (var entry in header.Metadata.Entries)
        {
            var value = entry.Value;
            if (entry.Key == "tokenizer.ggml.merges")
            {
                value = GgufValue.Array(header.Metadata.GetStringArray(entry.Key).Where(merge => IsAmong(merge, kept)).ToArray());
            }
            else if (value.AsArray() is { } array && array.Count == header.Metadata.GetArray("tokenizer.ggml.tokens").Count)
            {
                value = array.Items switch
                {
                    string[] texts => GgufValue.Array(texts[..tokens]),
                    float[] scores => GgufValue.Array(scores[..tokens]),
                    int[] types => GgufValue.Array(types[..tokens]),
                    _ => throw new InvalidOperationException($"{name}: no cut for {entry.Key}"),
                };
            }

            writer.Add(entry.Key, value);
        }

        var bytes = new MemoryStream();
        writer.Write(bytes);
        return bytes.ToArray();
    }

    private static bool IsAmong(string merge, HashSet<string> tokens)
    {
        int space = merge.IndexOf(' ', 1);
        return space > 0 && tokens.Contains(merge[..space]) && tokens.Contains(merge[(space + 1)..]) && tokens.Contains(merge.Remove(space, 1));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
