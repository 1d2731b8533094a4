using ModelGen.Gguf;

namespace ModelGen.Runtime.Synthesis;

/// <summary>
/// The default model's own SentencePiece-style vocabulary: the three control tokens, 256 byte-fallback tokens, the
/// printable ASCII characters, and every prefix of a few hundred common English words (so the score-ordered bigram
/// merges of a SentencePiece tokenizer can reach each whole word). Small, written here, and enough to tokenize any text.
/// </summary>
public static class TinyVocabulary
{
    // llama.cpp's token types.
    private const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;

    private const string Words =
        "the of and to in is was that for on as with by he it at from his an were are which this be or has had not but " +
        "one their they its first also new after two who been her more have other she when time all there into during " +
        "would can about up out some only over most him than many then later like made years where these between what " +
        "any so world such while may we our you your will could them no do said through each people because how before " +
        "well way little very long good great small old day man home once upon story tell told name story friend happy " +
        "girl boy cat dog tree sun sky water play went saw big look said wanted found could there know help house back";

    /// <summary>Adds the tokenizer.* metadata of this vocabulary to <paramref name="writer"/>.</summary>
    public static void AddTo(GgufWriter writer)
    {
        var (tokens, scores, types) = Build();
        writer.Add("tokenizer.ggml.model", GgufValue.Of("llama"))
            .Add("tokenizer.ggml.pre", GgufValue.Of("default"))
            .Add("tokenizer.ggml.tokens", GgufValue.Array(tokens))
            .Add("tokenizer.ggml.scores", GgufValue.Array(scores))
            .Add("tokenizer.ggml.token_type", GgufValue.Array(types))
            .Add("tokenizer.ggml.bos_token_id", GgufValue.Of(1u))
            .Add("tokenizer.ggml.eos_token_id", GgufValue.Of(2u))
            .Add("tokenizer.ggml.unknown_token_id", GgufValue.Of(0u))
            .Add("tokenizer.ggml.add_bos_token", GgufValue.Of(true))
            .Add("tokenizer.ggml.add_eos_token", GgufValue.Of(false));
    }

    private static (string[] Tokens, float[] Scores, int[] Types) Build()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { Unknown, Control, Control };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(Byte);
        }

        // Pieces in order of preference: earlier pieces get higher scores and merge first.
        var pieces = new List<string> { "\u2581" };
        for (char c = ' '; c < '\x7f'; c++)
        {
            if (c != ' ')
            {
                pieces.Add(c.ToString());
            }
        }

        foreach (var word in Words.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var spaced = "\u2581" + word;
            for (int n = 2; n <= spaced.Length; n++)
            {
                pieces.Add(spaced[..n]);
            }
        }

        var seen = new HashSet<string>(tokens, StringComparer.Ordinal);
        foreach (var piece in pieces)
        {
            if (seen.Add(piece))
            {
                tokens.Add(piece);
                types.Add(Normal);
            }
        }

        // SentencePiece scores: longer pieces first so whole words win over their parts, then by order of appearance.
        var scores = new float[tokens.Count];
        for (int i = 259; i < tokens.Count; i++)
        {
            scores[i] = tokens[i].Length * 100 - i * 0.01f;
        }

        return (tokens.ToArray(), scores, types.ToArray());
    }
}
