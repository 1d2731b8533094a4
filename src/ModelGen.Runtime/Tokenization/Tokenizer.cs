using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ModelGen.Gguf;

using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Tokenization;

/// <summary>The tokenization algorithm of a vocabulary.</summary>
public enum TokenizerModel
{
    /// <summary>SentencePiece-style BPE with byte fallback (<c>tokenizer.ggml.model = llama</c>).</summary>
    SentencePiece,
    /// <summary>Byte-level BPE with a pre-tokenizer (<c>tokenizer.ggml.model = gpt2</c>).</summary>
    BytePair,
}

/// <summary>
/// Text to token ids and back, giving the same results as llama.cpp's <c>llama_tokenize</c>,
/// <c>llama_token_to_piece</c> and <c>llama_detokenize</c> for the same GGUF vocabulary. Immutable and thread-safe.
/// </summary>
public sealed class Tokenizer
{
    private const TokenAttributes MatchedInText = TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown;
    private const TokenAttributes HiddenUnlessSpecial = TokenAttributes.Control | TokenAttributes.Unknown;

    private readonly string[] _texts;
    private readonly byte[][] _utf8;
    private readonly Dictionary<string, int> _idsByText; // a repeated text maps to its last id, as llama.cpp's token_to_id
    private readonly TokenAttributes[] _attributes;
    private readonly byte[]?[] _pieces;
    private readonly int[] _specialTokens;
    private readonly HashSet<int> _endOfGeneration = [];
    private readonly bool _cleanSpaces;
    private readonly SentencePieceModel? _sentencePiece;
    private readonly BytePairModel? _bytePair;

    /// <summary>Builds the tokenizer as llama.cpp's <c>llama_vocab::load</c> does, for the models implemented.</summary>
    private Tokenizer(TokenizerVocabulary vocabulary)
    {
        int n = vocabulary.Tokens.Count;
        Model = vocabulary.Model switch
        {
            "llama" => TokenizerModel.SentencePiece,
            "gpt2" => TokenizerModel.BytePair,
            _ => throw new NotSupportedException($"tokenizer model '{vocabulary.Model}' is not supported (llama and gpt2 are)"),
        };

        // llama.cpp's defaults per model, before the file's keys override them.
        PreTokenizerSettings? pre = null;
        int? bos, eos, unknown;
        if (Model == TokenizerModel.SentencePiece)
        {
            (bos, eos, unknown) = (1, 2, 0);
            AddSpacePrefix = true;
            AddBos = true;
        }
        else
        {
            pre = PreTokenizerSettings.For(vocabulary.PreTokenizer);
            PreTokenizerName = string.IsNullOrEmpty(vocabulary.PreTokenizer) ? "default" : vocabulary.PreTokenizer;
            (bos, eos, unknown) = (pre.HasDefaultBos ? 11 : null, 11, null);
            AddBos = pre.AddBos;
            _cleanSpaces = pre.CleanSpaces;
        }

        AddSpacePrefix = vocabulary.AddSpacePrefix ?? AddSpacePrefix;
        AddBos = vocabulary.AddBos ?? AddBos;
        AddEos = vocabulary.AddEos ?? false;

        if (vocabulary.Scores is { } s && s.Count < n || vocabulary.TokenTypes is { } t && t.Count < n)
        {
            throw new FormatException($"the vocabulary has {n} tokens but fewer scores or token types");
        }

        _texts = new string[n];
        _utf8 = new byte[n][];
        _idsByText = new Dictionary<string, int>(n, StringComparer.Ordinal);
        _attributes = new TokenAttributes[n];
        var scores = new float[n];
        for (int id = 0; id < n; id++)
        {
            string text = vocabulary.Tokens[id];
            _texts[id] = text.Length > 0 ? text : $"[EMPTY_{id}]";
            _utf8[id] = Encoding.UTF8.GetBytes(_texts[id]);
            _idsByText[_texts[id]] = id;
            scores[id] = vocabulary.Scores?[id] ?? 0f;
            _attributes[id] = vocabulary.TokenTypes is { } types ? AttributesOf(types[id]) : TokenAttributes.Normal;
        }

        // A default id out of range is dropped; a file's id out of range keeps the default.
        int? Special(int? fromFile, int? fallback = null) => fromFile is { } f && f < n ? f : fallback is { } d && d < n ? d : null;
        BosId = Special(vocabulary.BosId, bos);
        EosId = Special(vocabulary.EosId, eos);
        UnknownId = Special(vocabulary.UnknownId, unknown);
        SeparatorId = Special(vocabulary.SeparatorId);
        PaddingId = Special(vocabulary.PaddingId);
        MaskId = Special(vocabulary.MaskId);

        // Special tokens the file does not name are recognized by their text, and marked as control tokens.
        EotId = Special(vocabulary.EotId) ?? Recognize(SpecialTexts.EndOfTurn);
        EomId = Special(vocabulary.EomId) ?? Recognize(SpecialTexts.EndOfMessage);
        _ = Special(vocabulary.FimPrefixId) ?? Recognize(SpecialTexts.FimPrefix);
        _ = Special(vocabulary.FimSuffixId) ?? Recognize(SpecialTexts.FimSuffix);
        _ = Special(vocabulary.FimMiddleId) ?? Recognize(SpecialTexts.FimMiddle);
        int? fimPad = Special(vocabulary.FimPadId) ?? Recognize(SpecialTexts.FimPad);
        int? fimRepo = Special(vocabulary.FimRepoId) ?? Recognize(SpecialTexts.FimRepo);
        int? fimSeparator = Special(vocabulary.FimSeparatorId) ?? Recognize(SpecialTexts.FimSeparator);

        foreach (int id in _idsByText.Values)
        {
            if ((_attributes[id] & TokenAttributes.Control) != 0 && _texts[id].Contains("unused", StringComparison.Ordinal))
            {
                _attributes[id] |= TokenAttributes.Unused;
            }
        }

        CollectEndOfGeneration(fimPad, fimRepo, fimSeparator);
        EndOfGenerationIds = [.. _endOfGeneration.Order()];

        // Special tokens are matched in input text longest first. (llama.cpp's sort is not stable; equal lengths
        // keep id order here, which only matters for equal-length special texts overlapping in the input.)
        _specialTokens = [.. Enumerable.Range(0, n).Where(id => (_attributes[id] & MatchedInText) != 0).OrderByDescending(id => _utf8[id].Length)];

        // Pieces are rendered on first use. (llama.cpp renders them all here, before the stripping rules below, which
        // do not change what a token renders as.)
        _pieces = new byte[n][];
        ApplyStripRules(vocabulary);

        if (Model == TokenizerModel.SentencePiece)
        {
            _sentencePiece = new SentencePieceModel(_utf8, scores);
        }
        else
        {
            var merges = vocabulary.Merges ?? throw new FormatException("a gpt2 (byte-level BPE) vocabulary needs tokenizer.ggml.merges");
            _bytePair = new BytePairModel(_texts, merges, PreTokenizer.For(pre!.Kind), pre.IgnoreMerges);
        }
    }

    /// <summary>
    /// The token llama.cpp takes for a special token the file does not name, marked as a control token. It scans its
    /// text-to-id hash map, so with several candidates its pick follows hash order; the highest id is what it picks
    /// in every vocabulary tested (the chat end marker, as <c>&lt;|eot_id|&gt;</c> over <c>&lt;|end_of_text|&gt;</c>).
    /// </summary>
    private int? Recognize(IEnumerable<string> candidates)
    {
        int? found = candidates.Select(text => _idsByText.TryGetValue(text, out int id) ? id : (int?)null).Max();
        if (found is { } f)
        {
            _attributes[f] |= TokenAttributes.Control;
        }

        return found;
    }

    /// <summary>The tokens that end generation: the FIM fillers, known end markers (made control tokens), EOS, EOT, EOM.</summary>
    private void CollectEndOfGeneration(params int?[] fillers)
    {
        foreach (var id in fillers)
        {
            if (id is { } i)
            {
                _endOfGeneration.Add(i);
            }
        }

        foreach (string text in SpecialTexts.EndOfGeneration)
        {
            if (_idsByText.TryGetValue(text, out int id))
            {
                _endOfGeneration.Add(id);
                _attributes[id] |= TokenAttributes.Control;
            }
        }

        // gpt-oss: these chat markers always render.
        foreach (string text in SpecialTexts.AlwaysRendered)
        {
            if (_idsByText.TryGetValue(text, out int id))
            {
                _attributes[id] = TokenAttributes.UserDefined;
            }
        }

        foreach (var id in new[] { EosId, EotId, EomId })
        {
            if (id is { } i)
            {
                _endOfGeneration.Add(i);
            }
        }

        ApplyEndOfGenerationExceptions();
    }

    /// <summary>Creates the tokenizer a vocabulary defines.</summary>
    /// <exception cref="NotSupportedException">The tokenizer model or pre-tokenizer is not implemented.</exception>
    /// <exception cref="FormatException">The vocabulary is inconsistent (too few scores, BPE without merges).</exception>
    public static Tokenizer Create(TokenizerVocabulary vocabulary) => new(vocabulary ?? throw new ArgumentNullException(nameof(vocabulary)));

    /// <summary>Creates the tokenizer a GGUF file's metadata defines.</summary>
    /// <exception cref="GgufFormatException">A tokenizer key is missing or has the wrong type.</exception>
    /// <exception cref="Engine.UnsupportedModelException">The keys are inconsistent or name a tokenizer that is not implemented.</exception>
    public static Tokenizer FromGguf(GgufMetadata metadata) => Create(TokenizerVocabulary.FromGguf(metadata));

    /// <summary>The tokenization algorithm.</summary>
    public TokenizerModel Model { get; }

    /// <summary>The pre-tokenizer of a BPE vocabulary (<c>default</c> if the file names none); null for SentencePiece.</summary>
    public string? PreTokenizerName { get; }

    /// <summary>Number of tokens.</summary>
    public int VocabularySize => _texts.Length;

    /// <summary>Beginning-of-sequence token.</summary>
    public int? BosId { get; }

    /// <summary>End-of-sequence token.</summary>
    public int? EosId { get; }

    /// <summary>End-of-turn token (from the file, else recognized by its text).</summary>
    public int? EotId { get; }

    /// <summary>End-of-message token (from the file, else <c>&lt;|eom_id|&gt;</c>).</summary>
    public int? EomId { get; }

    /// <summary>Unknown-token placeholder.</summary>
    public int? UnknownId { get; }

    /// <summary>Separator token.</summary>
    public int? SeparatorId { get; }

    /// <summary>Padding token.</summary>
    public int? PaddingId { get; }

    /// <summary>Mask token.</summary>
    public int? MaskId { get; }

    /// <summary>Whether tokenizing with special tokens adds BOS first.</summary>
    public bool AddBos { get; }

    /// <summary>Whether tokenizing with special tokens adds EOS last.</summary>
    public bool AddEos { get; }

    /// <summary>Whether SentencePiece text gets a leading space (at the start and after each special token).</summary>
    public bool AddSpacePrefix { get; }

    /// <summary>A token's text as the vocabulary spells it.</summary>
    public string GetTokenText(int token) => _texts[token];

    /// <summary>The token whose text is <paramref name="text"/> (the last one if several are), or null.</summary>
    public int? FindToken(string text) => _idsByText.TryGetValue(text, out int id) ? id : null;

    /// <summary>A token's attributes, after llama.cpp's adjustments by token text and model name.</summary>
    public TokenAttributes GetAttributes(int token) => _attributes[token];

    /// <summary>Whether generating <paramref name="token"/> ends generation (EOS, EOT, chat end markers, ...).</summary>
    public bool IsEndOfGeneration(int token) => _endOfGeneration.Contains(token);

    /// <summary>The end-of-generation tokens, ascending.</summary>
    public IReadOnlyList<int> EndOfGenerationIds { get; }

    /// <summary>Tokenizes <paramref name="text"/> (<c>llama_tokenize</c>).</summary>
    /// <param name="text">The text; unpaired surrogates read as U+FFFD.</param>
    /// <param name="addSpecial">Add BOS/EOS as the vocabulary asks.</param>
    /// <param name="parseSpecial">Match control tokens' text in the input (user-defined tokens are always matched).</param>
    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<int>(text.Length / 3 + 4);
        Tokenize(Encoding.UTF8.GetBytes(text), addSpecial, parseSpecial, tokens);
        return [.. tokens];
    }

    /// <summary>Tokenizes UTF-8 <paramref name="utf8"/>, appending to <paramref name="tokens"/> (<c>llama_tokenize</c>).</summary>
    /// <exception cref="UnsupportedModelException">
    /// The vocabulary cannot tokenize this text: it asks for a BOS or EOS it lacks, or has no token for a byte.
    /// </exception>
    public void Tokenize(ReadOnlySpan<byte> utf8, bool addSpecial, bool parseSpecial, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var fragments = Partition(utf8, parseSpecial);
        if (addSpecial && AddBos)
        {
            tokens.Add(BosId ?? throw new UnsupportedModelException("the vocabulary asks for BOS but has none"));
        }

        if (_sentencePiece is not null)
        {
            // Escaped text: a leading space at the start and after each special token, spaces as U+2581.
            var escaped = new List<byte>(utf8.Length + 16);
            bool afterSpecial = true;
            foreach (var fragment in fragments)
            {
                if (fragment.Token >= 0)
                {
                    tokens.Add(fragment.Token);
                    afterSpecial = true;
                    continue;
                }

                escaped.Clear();
                if (AddSpacePrefix && afterSpecial)
                {
                    escaped.AddRange("\u2581"u8);
                }

                foreach (byte b in utf8.Slice(fragment.Start, fragment.Length))
                {
                    if (b == ' ')
                    {
                        escaped.AddRange("\u2581"u8);
                    }
                    else
                    {
                        escaped.Add(b);
                    }
                }

                _sentencePiece.Encode(CollectionsMarshal.AsSpan(escaped), tokens);
                afterSpecial = false;
            }
        }
        else
        {
            foreach (var fragment in fragments)
            {
                if (fragment.Token >= 0)
                {
                    tokens.Add(fragment.Token);
                }
                else
                {
                    _bytePair!.Encode(utf8.Slice(fragment.Start, fragment.Length), tokens);
                }
            }
        }

        if (addSpecial && AddEos)
        {
            tokens.Add(EosId ?? throw new UnsupportedModelException("the vocabulary asks for EOS but has none"));
        }
    }

    /// <summary>A stretch of input text, or a special token matched in it.</summary>
    private readonly record struct Fragment(int Start, int Length, int Token)
    {
        public static Fragment Text(int start, int length) => new(start, length, -1);

        public static Fragment Special(int token) => new(0, 0, token);
    }

    /// <summary>
    /// Splits the input at special tokens' text, longest tokens first, each over all the text the longer ones left
    /// (llama.cpp's <c>tokenizer_st_partition</c>), dropping whitespace next to tokens marked to strip it.
    /// </summary>
    private List<Fragment> Partition(ReadOnlySpan<byte> text, bool parseSpecial)
    {
        var fragments = new List<Fragment>();
        if (text.IsEmpty)
        {
            return fragments;
        }

        fragments.Add(Fragment.Text(0, text.Length));
        var split = new List<Fragment>();
        foreach (int id in _specialTokens)
        {
            var attributes = _attributes[id];
            var special = _utf8[id];
            if ((!parseSpecial && (attributes & HiddenUnlessSpecial) != 0) || text.IndexOf(special) < 0)
            {
                continue;
            }

            split.Clear();
            foreach (var fragment in fragments)
            {
                if (fragment.Token >= 0)
                {
                    split.Add(fragment);
                    continue;
                }

                int start = fragment.Start, length = fragment.Length;
                while (length > 0)
                {
                    int match = text.Slice(start, length).IndexOf(special);
                    if (match < 0)
                    {
                        split.Add(Fragment.Text(start, length));
                        break;
                    }

                    int left = match;
                    if ((attributes & TokenAttributes.LStrip) != 0)
                    {
                        while (left > 0 && IsCSpace(text[start + left - 1]))
                        {
                            left--;
                        }
                    }

                    if (left > 0)
                    {
                        split.Add(Fragment.Text(start, left));
                    }

                    split.Add(Fragment.Special(id));
                    length -= match + special.Length;
                    start += match + special.Length;
                    if ((attributes & TokenAttributes.RStrip) != 0)
                    {
                        while (length > 0 && IsCSpace(text[start]))
                        {
                            start++;
                            length--;
                        }
                    }
                }
            }

            (fragments, split) = (split, fragments);
        }

        return fragments;
    }

    /// <summary><c>isspace</c> in the C locale.</summary>
    private static bool IsCSpace(byte b) => b is (byte)' ' or >= (byte)'\t' and <= (byte)'\r';

    /// <summary>
    /// The bytes a token renders as (<c>llama_token_to_piece</c>): control and unknown tokens render only when
    /// <paramref name="renderSpecial"/>; up to <paramref name="leadingSpacesToSkip"/> leading spaces are left out.
    /// </summary>
    public ReadOnlySpan<byte> GetPiece(int token, bool renderSpecial, int leadingSpacesToSkip = 0)
    {
        if (!renderSpecial && (_attributes[token] & HiddenUnlessSpecial) != 0)
        {
            return [];
        }

        var piece = (_pieces[token] ??= PieceOf(token)).AsSpan(); // a race renders the same piece twice, harmlessly
        for (int i = 0; i < leadingSpacesToSkip && !piece.IsEmpty && piece[0] == ' '; i++)
        {
            piece = piece[1..];
        }

        return piece;
    }

    /// <summary>The text of <paramref name="tokens"/> (<c>llama_detokenize</c>), as UTF-8.</summary>
    /// <param name="tokens">The tokens.</param>
    /// <param name="removeSpecial">Leave out a leading BOS and trailing EOS the vocabulary adds.</param>
    /// <param name="unparseSpecial">Render control and unknown tokens.</param>
    public byte[] DetokenizeToUtf8(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false)
    {
        bool removeSpace = AddSpacePrefix;
        if (removeSpecial && AddBos && !tokens.IsEmpty && tokens[0] == BosId)
        {
            removeSpace = false;
            tokens = tokens[1..];
        }

        if (removeSpecial && AddEos && !tokens.IsEmpty && tokens[^1] == EosId)
        {
            tokens = tokens[..^1];
        }

        var text = new List<byte>();
        foreach (int token in tokens)
        {
            text.AddRange(GetPiece(token, unparseSpecial, removeSpace ? 1 : 0));
            removeSpace = false;
        }

        var bytes = text.ToArray();
        return _cleanSpaces ? bytes[..CleanUpSpaces(bytes)] : bytes;
    }

    /// <summary>The text of <paramref name="tokens"/> (<c>llama_detokenize</c>); invalid UTF-8 reads as U+FFFD.</summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false) =>
        Encoding.UTF8.GetString(DetokenizeToUtf8(tokens, removeSpecial, unparseSpecial));

    /// <summary>
    /// llama.cpp's <c>clean_up_tokenization_spaces</c>, in place, returning the new length: drops the space before
    /// <c>? ! . ,</c>, around a lone apostrophe, and before <c>'s 'm 're 've</c>.
    /// </summary>
    private static int CleanUpSpaces(byte[] text)
    {
        int total = text.Length;

        // The three passes run in place, each reading what the previous one wrote, exactly as llama.cpp's do.
        int total1 = total;
        total = total > 0 ? 1 : 0;
        for (int i = 1; i < total1; i++)
        {
            byte x = text[i];
            if (text[i - 1] == ' ' && x is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',')
            {
                total--;
            }

            text[total++] = x;
        }

        int total2 = total;
        total = total > 0 ? 1 : 0;
        for (int i = 1; i < total2; i++)
        {
            byte x = text[i];
            if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ')
            {
                total--;
                text[++i] = 0;
            }

            text[total++] = x;
        }

        int total3 = total;
        total = total > 0 ? 1 : 0;
        for (int i = 1; i < total3; i++)
        {
            byte x = text[i];
            if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3)
            {
                byte x1 = text[i + 1];
                if (x1 is (byte)'s' or (byte)'m' || (i + 2 < total3 && x1 is (byte)'r' or (byte)'v' && text[i + 2] == 'e'))
                {
                    total--;
                }
            }

            text[total++] = x;
        }

        return total;
    }

    private static TokenAttributes AttributesOf(GgufTokenType type) => type switch
    {
        GgufTokenType.Unknown => TokenAttributes.Unknown,
        GgufTokenType.Unused => TokenAttributes.Unused,
        GgufTokenType.Normal => TokenAttributes.Normal,
        GgufTokenType.Control => TokenAttributes.Control,
        GgufTokenType.UserDefined => TokenAttributes.UserDefined,
        GgufTokenType.Byte => TokenAttributes.Byte,
        _ => TokenAttributes.Undefined,
    };

    // o200k_harmony and solar-open: "<|end|>" is not the end of generation when "<|return|>" and "<|call|>" (or
    // "<|calls|>" and "<|flush|>") are; gemma4: "</s>" is not when "<|tool_response>" is. llama.cpp also demotes
    // the token's attributes.
    private void ApplyEndOfGenerationExceptions()
    {
        int? With(string text) => _endOfGeneration.Where(id => _texts[id] == text).Select(id => (int?)id).Max();

        var end = With("<|end|>");
        bool hasCall = With("<|call|>") is not null || With("<|calls|>") is not null;
        if (end is { } e && hasCall && (With("<|return|>") is not null || With("<|flush|>") is not null))
        {
            _endOfGeneration.Remove(e);
            _attributes[e] = TokenAttributes.UserDefined;
        }

        if (With("</s>") is { } s && With("<|tool_response>") is not null)
        {
            _endOfGeneration.Remove(s);
            _attributes[s] = TokenAttributes.Normal;
        }
    }

    // Per-model stripping rules llama.cpp keys on names (applied after the pieces are rendered, as there).
    private void ApplyStripRules(TokenizerVocabulary vocabulary)
    {
        static bool Has(string? s, params string[] parts) => s is not null && parts.Any(p => s.Contains(p, StringComparison.Ordinal));
        string? modelName = vocabulary.ModelName is { } name ? AsciiLower(name) : null;

        void Set(string text, TokenAttributes attribute, bool on)
        {
            if (_idsByText.TryGetValue(text, out int id))
            {
                _attributes[id] = on ? _attributes[id] | attribute : _attributes[id] & ~attribute;
            }
        }

        if (Has(vocabulary.PreTokenizer, "jina-v2-de", "jina-v2-es", "jina-v2-code") || Has(vocabulary.Architecture, "nomic-bert-moe", "jina-bert-v3"))
        {
            Set("<mask>", TokenAttributes.LStrip, true);
        }
        else if (Has(modelName, "phi-3", "phi3"))
        {
            foreach (int id in _specialTokens)
            {
                _attributes[id] |= TokenAttributes.RStrip;
            }

            Set("</s>", TokenAttributes.RStrip, true);
            foreach (var text in new[] { "<unk>", "<s>", "<|endoftext|>" })
            {
                Set(text, TokenAttributes.RStrip, false);
            }
        }
        else if (Has(modelName, "modern-bert"))
        {
            Set("[MASK]", TokenAttributes.LStrip, true);
        }
    }

    private static string AsciiLower(string s) => string.Create(s.Length, s, (span, source) =>
    {
        for (int i = 0; i < span.Length; i++)
        {
            char c = source[i];
            span[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
        }
    });

    /// <summary>What <c>llama_token_to_piece</c> renders with special rendering on.</summary>
    private byte[] PieceOf(int id)
    {
        var attributes = _attributes[id];
        if ((attributes & MatchedInText) != 0)
        {
            return _utf8[id];
        }

        if ((attributes & TokenAttributes.Normal) != 0)
        {
            return Model == TokenizerModel.SentencePiece ? Encoding.UTF8.GetBytes(_texts[id].Replace('\u2581', ' ')) : DecodeByteLevel(id);
        }

        return (attributes & TokenAttributes.Byte) != 0 ? [ParseByteToken(_texts[id])] : [];
    }

    /// <summary>
    /// The bytes a byte-level token text stands for; a character that stands for no byte renders as llama.cpp
    /// renders it, <c>[UNK_BYTE_0x</c>, its UTF-8 in hex, the whole token text, <c>]</c>.
    /// </summary>
    private byte[] DecodeByteLevel(int id)
    {
        var bytes = new List<byte>(_utf8[id].Length);
        var codepoints = new List<int>();
        LenientUtf8.Decode(_utf8[id], codepoints);
        var utf8 = new List<byte>(4);
        foreach (int codepoint in codepoints)
        {
            int b = ByteLevel.ByteOf(codepoint);
            if (b >= 0)
            {
                bytes.Add((byte)b);
                continue;
            }

            utf8.Clear();
            LenientUtf8.Encode(codepoint, utf8);
            bytes.AddRange("[UNK_BYTE_0x"u8);
            bytes.AddRange(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(CollectionsMarshal.AsSpan(utf8))));
            bytes.AddRange(_utf8[id]);
            bytes.Add((byte)']');
        }

        return [.. bytes];
    }

    /// <summary>The byte of a <c>&lt;0xXX&gt;</c> token: the hex digits at 3..4, as far as they go (<c>strtol</c>).</summary>
    private static byte ParseByteToken(string text)
    {
        var digits = text.AsSpan(Math.Min(3, text.Length));
        digits = digits[..Math.Min(2, digits.Length)];
        int count = 0;
        while (count < digits.Length && char.IsAsciiHexDigit(digits[count]))
        {
            count++;
        }

        return count == 0 ? (byte)0 : byte.Parse(digits[..count], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
