namespace ModelGen.LlamaCpp;

/// <summary>
/// A GGUF vocabulary loaded by llama.cpp itself (<c>vocab_only</c>): the reference our tokenizers are checked
/// against. Not thread-safe.
/// </summary>
public sealed unsafe class LlamaVocabulary : IDisposable
{
    private nint _model;
    private readonly nint _vocab;

    private LlamaVocabulary(nint model)
    {
        _model = model;
        _vocab = LlamaNative.ModelGetVocab(model);
    }

    /// <summary>Loads the vocabulary of the GGUF file at <paramref name="path"/> (logging silenced).</summary>
    public static LlamaVocabulary Load(string path)
    {
        LlamaCppLibrary.EnsureLoaded();
        LlamaNative.SilenceLogging();
        LlamaNative.BackendInit();
        var parameters = LlamaNative.ModelDefaultParams();
        parameters.VocabOnly = 1;
        var model = LlamaNative.ModelLoadFromFile(path, parameters);
        return model != 0 ? new LlamaVocabulary(model) : throw new InvalidOperationException($"llama.cpp could not load the vocabulary of {path}");
    }

    /// <summary>Number of tokens.</summary>
    public int TokenCount => LlamaNative.VocabTokenCount(Vocab);

    /// <summary><c>llama_vocab_bos</c> (-1 for none).</summary>
    public int Bos => LlamaNative.VocabBos(Vocab);

    /// <summary><c>llama_vocab_eos</c> (-1 for none).</summary>
    public int Eos => LlamaNative.VocabEos(Vocab);

    /// <summary><c>llama_vocab_eot</c> (-1 for none).</summary>
    public int Eot => LlamaNative.VocabEot(Vocab);

    /// <summary><c>llama_vocab_sep</c> (-1 for none).</summary>
    public int Separator => LlamaNative.VocabSeparator(Vocab);

    /// <summary><c>llama_vocab_pad</c> (-1 for none).</summary>
    public int Padding => LlamaNative.VocabPadding(Vocab);

    /// <summary><c>llama_vocab_get_add_bos</c>.</summary>
    public bool AddBos => LlamaNative.VocabGetAddBos(Vocab);

    /// <summary><c>llama_vocab_get_add_eos</c>.</summary>
    public bool AddEos => LlamaNative.VocabGetAddEos(Vocab);

    /// <summary><c>llama_vocab_get_attr</c> (a <c>llama_token_attr</c> bit set).</summary>
    public int GetAttributes(int token) => LlamaNative.VocabGetAttributes(Vocab, token);

    /// <summary><c>llama_vocab_is_eog</c>.</summary>
    public bool IsEndOfGeneration(int token) => LlamaNative.VocabIsEndOfGeneration(Vocab, token);

    /// <summary><c>llama_tokenize</c> of UTF-8 <paramref name="text"/>.</summary>
    public int[] Tokenize(ReadOnlySpan<byte> text, bool addSpecial, bool parseSpecial)
    {
        var tokens = new int[text.Length + 8];
        fixed (byte* t = text.IsEmpty ? "\0"u8 : text) // never a null pointer, even for no text
        {
            while (true)
            {
                fixed (int* p = tokens)
                {
                    int n = LlamaNative.Tokenize(Vocab, t, text.Length, p, tokens.Length, addSpecial, parseSpecial);
                    if (n >= 0)
                    {
                        return tokens[..n];
                    }

                    tokens = new int[-n];
                }
            }
        }
    }

    /// <summary><c>llama_token_to_piece</c>.</summary>
    public byte[] TokenToPiece(int token, bool special, int lstrip = 0)
    {
        Span<byte> small = stackalloc byte[64];
        fixed (byte* p = small)
        {
            int n = LlamaNative.TokenToPiece(Vocab, token, p, small.Length, lstrip, special);
            if (n >= 0)
            {
                return small[..n].ToArray();
            }

            var piece = new byte[-n];
            fixed (byte* q = piece)
            {
                LlamaNative.TokenToPiece(Vocab, token, q, piece.Length, lstrip, special);
            }

            return piece;
        }
    }

    /// <summary><c>llama_detokenize</c>, as UTF-8.</summary>
    public byte[] Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial, bool unparseSpecial)
    {
        var text = new byte[tokens.Length * 8 + 16];
        fixed (int* t = tokens)
        {
            while (true)
            {
                fixed (byte* p = text)
                {
                    int n = LlamaNative.Detokenize(Vocab, t, tokens.Length, p, text.Length, removeSpecial, unparseSpecial);
                    if (n >= 0)
                    {
                        return text[..n];
                    }

                    text = new byte[-n];
                }
            }
        }
    }

    private nint Vocab => _model != 0 ? _vocab : throw new ObjectDisposedException(nameof(LlamaVocabulary));

    public void Dispose()
    {
        if (_model != 0)
        {
            LlamaNative.ModelFree(_model);
            _model = 0;
        }
    }
}
