using System.Runtime.InteropServices;
using System.Text;
using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// SentencePiece-style BPE (<c>tokenizer.ggml.model = llama</c>), as llama.cpp's <c>llm_tokenizer_spm</c>: start from
/// one symbol per UTF-8 character, repeatedly merge the adjacent pair whose concatenation is the vocabulary token with
/// the highest score (leftmost first on ties), then emit each symbol's token, or its bytes' fallback tokens.
/// </summary>
/// <remarks>
/// The text arrives with spaces already escaped to U+2581. Every merged symbol is a token by construction, so only
/// single characters can miss the vocabulary; llama.cpp's re-segmentation of unknown symbols then never applies and
/// they go straight to byte fallback.
/// </remarks>
internal sealed class SentencePieceModel
{
    private readonly ByteStringMap _ids;
    private readonly float[] _scores;
    private readonly int[] _byteTokens;

    /// <param name="tokens">Each token's text, UTF-8.</param>
    /// <param name="scores">Each token's score.</param>
    public SentencePieceModel(byte[][] tokens, float[] scores)
    {
        _ids = new ByteStringMap();
        for (int id = 0; id < tokens.Length; id++)
        {
            _ids.Set(tokens[id], id); // a repeated text maps to its last id, as in llama.cpp
        }

        _scores = scores;

        // llama.cpp's byte_to_token: the <0xXX> token, else a token spelling the byte itself.
        _byteTokens = new int[256];
        for (int b = 0; b < 256; b++)
        {
            _byteTokens[b] = _ids.TryGetValue(Encoding.ASCII.GetBytes($"<0x{b:X2}>"), out int id) ? id : _ids.GetValueOrNone([(byte)b]);
        }
    }

    private struct Symbol
    {
        public int Start;
        public int Length;
        public int Prev;
        public int Next;
    }

    private readonly record struct Bigram(int Left, int Right, int Size);

    /// <summary>Higher score first, then the leftmost pair.</summary>
    private sealed class Priority : IComparer<(float Score, int Left)>
    {
        public static readonly Priority Instance = new();

        public int Compare((float Score, int Left) x, (float Score, int Left) y)
        {
            int byScore = y.Score.CompareTo(x.Score);
            return byScore != 0 ? byScore : x.Left.CompareTo(y.Left);
        }
    }

    /// <summary>Appends the tokens of <paramref name="text"/> (escaped UTF-8, not empty) to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<byte> text, List<int> output)
    {
        var symbols = new List<Symbol>(text.Length);
        for (int offset = 0; offset < text.Length;)
        {
            int length = Math.Min(LenientUtf8.SequenceLength(text[offset]), text.Length - offset);
            symbols.Add(new Symbol { Start = offset, Length = length, Prev = symbols.Count - 1, Next = offset + length == text.Length ? -1 : symbols.Count + 1 });
            offset += length;
        }

        var queue = new PriorityQueue<Bigram, (float, int)>(symbols.Count, Priority.Instance);
        var s = CollectionsMarshal.AsSpan(symbols);
        for (int i = 1; i < s.Length; i++)
        {
            TryAddBigram(text, s, queue, i - 1, i);
        }

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref s[bigram.Left];
            ref var right = ref s[bigram.Right];

            // Skip pairs a previous merge changed.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size)
            {
                continue;
            }

            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0)
            {
                s[right.Next].Prev = bigram.Left;
            }

            TryAddBigram(text, s, queue, left.Prev, bigram.Left);
            TryAddBigram(text, s, queue, bigram.Left, left.Next);
        }

        for (int i = 0; i != -1; i = s[i].Next)
        {
            var piece = text.Slice(s[i].Start, s[i].Length);
            if (_ids.TryGetValue(piece, out int id))
            {
                output.Add(id);
                continue;
            }

            foreach (byte b in piece)
            {
                output.Add(_byteTokens[b] >= 0 ? _byteTokens[b]
                    : throw new UnsupportedModelException($"the vocabulary has no token for byte 0x{b:X2} and no byte-fallback token, so it cannot tokenize this text"));
            }
        }
    }

    private void TryAddBigram(ReadOnlySpan<byte> text, ReadOnlySpan<Symbol> symbols, PriorityQueue<Bigram, (float, int)> queue, int left, int right)
    {
        if (left < 0 || right < 0)
        {
            return;
        }

        int size = symbols[left].Length + symbols[right].Length;
        if (_ids.TryGetValue(text.Slice(symbols[left].Start, size), out int id))
        {
            queue.Enqueue(new Bigram(left, right, size), (_scores[id], left));
        }
    }
}
