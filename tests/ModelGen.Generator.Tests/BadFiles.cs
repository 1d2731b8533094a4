using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;

namespace ModelGen.Generator.Tests;

/// <summary>GGUF files written for the generator's diagnostics: a real model's header with one thing changed.</summary>
internal static class BadFiles
{
    /// <summary>A variant of <paramref name="source"/> in the test folder (see <see cref="GgufVariant.Write"/>).</summary>
    public static string Variant(string source, string name,
        Func<GgufMetadataEntry, GgufValue?>? metadata = null,
        Func<GgufTensorInfo, (string Name, GgmlType Type, long[] Shape)?>? tensor = null) =>
        GgufVariant.Write(source, ModelFiles.TempPath(name), metadata, tensor);

    /// <summary>
    /// A model of <paramref name="shape"/> with llama's 32,000-token SentencePiece vocabulary and zero weights, written
    /// sparse: only its header occupies the disk.
    /// </summary>
    public static void WriteHeaderOnlyModel(string path, ModelShape shape, GgmlType type)
    {
        var donor = GgufReader.ReadHeader(Path.Combine(SharedData.Vocab, "ggml-vocab-llama-spm.gguf"));
        var writer = new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("general.name", GgufValue.Of(shape.Name))
            .Add("llama.context_length", GgufValue.Of((uint)shape.ContextLength))
            .Add("llama.embedding_length", GgufValue.Of((uint)shape.EmbeddingLength))
            .Add("llama.block_count", GgufValue.Of((uint)shape.BlockCount))
            .Add("llama.feed_forward_length", GgufValue.Of((uint)shape.FeedForwardLength))
            .Add("llama.attention.head_count", GgufValue.Of((uint)shape.HeadCount))
            .Add("llama.attention.head_count_kv", GgufValue.Of((uint)shape.KvHeadCount));
        foreach (var entry in donor.Metadata.Entries.Where(e => e.Key.StartsWith("tokenizer.", StringComparison.Ordinal)))
        {
            writer.Add(entry.Key, entry.Value);
        }

        long vocabulary = donor.Metadata.GetArray("tokenizer.ggml.tokens").Count;
        long dim = shape.EmbeddingLength, kv = shape.KvHeadCount * shape.HeadDimension, ffn = shape.FeedForwardLength;
        writer.AddZeros("token_embd.weight", type, [dim, vocabulary]);
        for (int b = 0; b < shape.BlockCount; b++)
        {
            var p = $"blk.{b}.";
            writer.AddZeros(p + "attn_norm.weight", GgmlType.F32, [dim])
                .AddZeros(p + "attn_q.weight", type, [dim, dim])
                .AddZeros(p + "attn_k.weight", type, [dim, kv])
                .AddZeros(p + "attn_v.weight", type, [dim, kv])
                .AddZeros(p + "attn_output.weight", type, [dim, dim])
                .AddZeros(p + "ffn_norm.weight", GgmlType.F32, [dim])
                .AddZeros(p + "ffn_gate.weight", type, [dim, ffn])
                .AddZeros(p + "ffn_up.weight", type, [dim, ffn])
                .AddZeros(p + "ffn_down.weight", type, [ffn, dim]);
        }

        writer.AddZeros("output_norm.weight", GgmlType.F32, [dim])
            .AddZeros("output.weight", type, [dim, vocabulary]);
        writer.Write(path);
    }
}
