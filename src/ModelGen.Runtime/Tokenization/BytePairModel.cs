using System.Runtime.InteropServices;

namespace ModelGen.Runtime.Tokenization;

/// <summary>
/// Byte-level BPE (<c>tokenizer.ggml.model = gpt2</c>), as llama.cpp's <c>llm_tokenizer_bpe</c>: pre-tokenize into
/// words, then in each word start from one symbol per byte and repeatedly apply the lowest-ranked merge among adjacent
/// pairs (leftmost first on ties).
/// </summary>
/// <remarks>
/// llama.cpp works on the byte-level spelling of the text (each byte as one character, see <see cref="ByteLevel"/>);
/// that spelling is a bijection, so this works on the raw bytes and looks tokens up by the bytes they stand for.
/// Every string a merge names gets a symbol id (the token's id, or an id past the vocabulary for a string that is no
/// token), and the merge table maps a pair of symbol ids to its rank and the id of the merged string: merging needs
/// no string operations at all.
/// </remarks>
internal sealed class BytePairModel
{
    private readonly int _vocabularySize;
    private readonly ByteStringMap _symbolIds = new();
    private readonly Dictionary<long, (int Rank, int Merged)> _merges = new(PairKeyComparer.Instance);
    private readonly int[] _byteSymbols = new int[256];
    private readonly PreTokenizer _preTokenizer;
    private readonly bool _ignoreMerges;

    public BytePairModel(IReadOnlyList<string> tokens, IReadOnlyList<string> merges, PreTokenizer preTokenizer, bool ignoreMerges)
    {
        _vocabularySize = tokens.Count;
        _preTokenizer = preTokenizer;
        _ignoreMerges = ignoreMerges;

        var bytes = new List<byte>();
        for (int id = 0; id < tokens.Count; id++)
        {
            bytes.Clear();
            if (ByteLevel.TryDecode(tokens[id], bytes))
            {
                _symbolIds.Set(CollectionsMarshal.AsSpan(bytes), id); // a repeated text maps to its last id, as in llama.cpp
            }
        }

        // Two passes: every string a merge names needs its symbol id before any merge result is looked up. The
        // first keeps each merge's two halves, back to back, in one buffer.
        var halves = new List<byte>();
        var parsed = new List<(int Rank, int Left, int Right, int Start, int Length)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            int start = halves.Count;
            if (TryParseMerge(merges[rank], halves, out int leftLength))
            {
                var both = CollectionsMarshal.AsSpan(halves)[start..];
                parsed.Add((rank, SymbolIdOf(both[..leftLength]), SymbolIdOf(both[leftLength..]), start, both.Length));
            }
            else
            {
                CollectionsMarshal.SetCount(halves, start);
            }
        }

        foreach (var (rank, left, right, start, length) in parsed)
        {
            int merged = _symbolIds.GetValueOrNone(CollectionsMarshal.AsSpan(halves).Slice(start, length));
            _merges.TryAdd(PairKey(left, right), (rank, merged)); // the first rank of a repeated merge wins
        }

        for (int b = 0; b < 256; b++)
        {
            _byteSymbols[b] = _symbolIds.GetValueOrNone([(byte)b]);
        }
    }

    // llama.cpp splits "left right" at the first space after the first character. Appends the bytes of both halves
    // to bytes; false if a half is empty or stands for no bytes (it can never match a symbol, so the merge is dropped).
    private static bool TryParseMerge(string merge, List<byte> bytes, out int leftLength)
    {
        int start = bytes.Count;
        int space = merge.Length > 1 ? merge.IndexOf(' ', 1) : -1;
        leftLength = 0;
        if (space < 0 || !ByteLevel.TryDecode(merge.AsSpan(0, space), bytes))
        {
            return false;
        }

        leftLength = bytes.Count - start;
        return ByteLevel.TryDecode(merge.AsSpan(space + 1), bytes) && leftLength > 0 && bytes.Count - start > leftLength;
    }

    private int SymbolIdOf(ReadOnlySpan<byte> text)
    {
        if (!_symbolIds.TryGetValue(text, out int id))
        {
            id = _vocabularySize + _symbolIds.Count;
            _symbolIds.Set(text, id);
        }

        return id;
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>
    /// Hashes pair keys by Fibonacci hashing: <see cref="long.GetHashCode"/> is <c>left ^ right</c>, which piles the
    /// many pairs of small ids onto few values.
    /// </summary>
    private sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }

    private struct Symbol
    {
        public int Start;
        public int Length;
        public int Prev;
        public int Next;
        public int Id;
    }

    private readonly record struct Bigram(int Left, int Right, int Size, int Merged);

    /// <summary>Reused buffers of one <see cref="Encode"/> call.</summary>
    private sealed class Workspace
    {
        public readonly List<int> Codepoints = [];
        public readonly List<CodepointFlags> Flags = [];
        public readonly List<int> Words = [];
        public readonly List<int> Scratch = [];
        public readonly List<byte> Word = [];
        public readonly List<Symbol> Symbols = [];
        public readonly PriorityQueue<Bigram, (int Rank, int Left)> Queue = new();
    }

    /// <summary>Appends the tokens of <paramref name="text"/> (UTF-8) to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<byte> text, List<int> output)
    {
        var work = new Workspace();
        LenientUtf8.Decode(text, work.Codepoints);
        foreach (int codepoint in work.Codepoints)
        {
            work.Flags.Add(Codepoints.FlagsOf(codepoint));
        }

        var codepoints = CollectionsMarshal.AsSpan(work.Codepoints);
        _preTokenizer.Split(codepoints, CollectionsMarshal.AsSpan(work.Flags), work.Words, work.Scratch);

        int start = 0;
        foreach (int length in work.Words)
        {
            // Undecodable bytes became U+FFFD, and words are its UTF-8, as in llama.cpp.
            work.Word.Clear();
            foreach (int codepoint in codepoints.Slice(start, length))
            {
                LenientUtf8.Encode(codepoint, work.Word);
            }

            EncodeWord(CollectionsMarshal.AsSpan(work.Word), work, output);
            start += length;
        }
    }

    private void EncodeWord(ReadOnlySpan<byte> word, Workspace work, List<int> output)
    {
        if (_ignoreMerges && _symbolIds.TryGetValue(word, out int whole) && whole < _vocabularySize)
        {
            output.Add(whole);
            return;
        }

        work.Symbols.Clear();
        for (int i = 0; i < word.Length; i++)
        {
            work.Symbols.Add(new Symbol { Start = i, Length = 1, Prev = i - 1, Next = i + 1 == word.Length ? -1 : i + 1, Id = _byteSymbols[word[i]] });
        }

        var symbols = CollectionsMarshal.AsSpan(work.Symbols);
        var queue = work.Queue;
        queue.Clear();
        for (int i = 1; i < symbols.Length; i++)
        {
            TryAddBigram(symbols, queue, i - 1, i);
        }

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref symbols[bigram.Left];
            ref var right = ref symbols[bigram.Right];

            // Skip pairs a previous merge changed.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size)
            {
                continue;
            }

            left.Length += right.Length;
            left.Id = bigram.Merged;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0)
            {
                symbols[right.Next].Prev = bigram.Left;
            }

            TryAddBigram(symbols, queue, left.Prev, bigram.Left);
            TryAddBigram(symbols, queue, bigram.Left, left.Next);
        }

        foreach (ref readonly var symbol in symbols)
        {
            if (symbol.Length == 0)
            {
                continue;
            }

            if ((uint)symbol.Id < (uint)_vocabularySize)
            {
                output.Add(symbol.Id);
                continue;
            }

            // A merge produced a string that is no token: llama.cpp falls back to the tokens of its single
            // byte-level characters, which only exist for the printable ASCII bytes (spelled as themselves).
            foreach (byte b in word.Slice(symbol.Start, symbol.Length))
            {
                if (b is >= 0x21 and <= 0x7E && (uint)_byteSymbols[b] < (uint)_vocabularySize)
                {
                    output.Add(_byteSymbols[b]);
                }
            }
        }
    }

    private void TryAddBigram(ReadOnlySpan<Symbol> symbols, PriorityQueue<Bigram, (int Rank, int Left)> queue, int left, int right)
    {
        if (left < 0 || right < 0 || symbols[left].Id < 0 || symbols[right].Id < 0)
        {
            return;
        }

        if (_merges.TryGetValue(PairKey(symbols[left].Id, symbols[right].Id), out var merge))
        {
            queue.Enqueue(new Bigram(left, right, symbols[left].Length + symbols[right].Length, merge.Merged), (merge.Rank, left));
        }
    }
}
