using ModelGen.Gguf;
using ModelGen.Kernels.Threading;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Engine;

/// <summary>How to run a model.</summary>
public sealed record ModelOptions
{
    /// <summary>KV cache positions; 0 takes the model's trained context, capped at 4096 to bound memory.</summary>
    public int ContextLength { get; init; }

    /// <summary>Worker threads; 0 uses every core.</summary>
    public int Threads { get; init; }

    /// <summary>Most tokens per forward pass during prefill.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// Sequences the KV cache holds, each of <see cref="ContextLength"/> positions: more than one lets a server run
    /// several conversations in one batched forward pass (<see cref="IForwardPass.Forward(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{bool})"/>).
    /// </summary>
    public int Sequences { get; init; } = 1;

    /// <summary>
    /// Bytes the KV cache and buffers may take at most; 0 takes <see cref="Engine.MemoryBudget.Default"/>, half of the
    /// memory the process may use. A model and context over it are refused at load.
    /// </summary>
    public long MemoryBudget { get; init; }
}

/// <summary>
/// The generic engine: any supported GGUF (llama, qwen2, qwen3, gemma3), interpreted at run time. Memory-maps the file,
/// binds and checks its tensors, builds its tokenizer, and generates text. It has one KV cache: its generations run
/// one at a time (see <see cref="TextGenerator"/>).
/// </summary>
public sealed class GenericModel : IForwardPass, ILanguageModel
{
    private readonly GgufFile _file;
    private readonly Transformer _transformer;

    private GenericModel(GgufFile file, ModelConfig config, Transformer transformer, Tokenizer tokenizer)
    {
        _file = file;
        Config = config;
        _transformer = transformer;
        Tokenizer = tokenizer;
        Generator = new TextGenerator(this, tokenizer);
    }

    /// <summary>Loads <paramref name="path"/>, naming the problem when it cannot.</summary>
    /// <exception cref="GgufFormatException">The file is not a well-formed GGUF file.</exception>
    /// <exception cref="UnsupportedModelException">
    /// The engine cannot run it: architecture, hyper-parameters, tensors, vocabulary, or a context over the memory budget.
    /// </exception>
    /// <exception cref="IOException">The file cannot be opened or mapped.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value of <paramref name="options"/> is out of range.</exception>
    public static GenericModel Load(string path, ModelOptions? options = null)
    {
        options ??= new ModelOptions();
        if (options.ContextLength < 0 || options.Threads < 0 || options.BatchSize < 1 || options.Sequences < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options, "context and threads must not be negative, and batches and sequences number at least one");
        }

        var file = GgufFile.Open(path);
        try
        {
            var source = System.IO.Path.GetFileName(path);
            var config = ModelConfig.FromMetadata(file.Metadata, source);
            int context = options.ContextLength > 0 ? options.ContextLength : Math.Min(config.ContextLength, 4096);
            MemoryBudget.Check(config, context, options.BatchSize, options.MemoryBudget, source, options.Sequences);
            var weights = ModelWeights.Bind(file, config);
            var tokenizer = Tokenizer.FromGguf(file.Metadata);
            if (tokenizer.VocabularySize != config.VocabularySize)
            {
                throw new UnsupportedModelException(source, $"the vocabulary has {tokenizer.VocabularySize} tokens but the embedding {config.VocabularySize} rows");
            }

            var pool = new KernelThreadPool(options.Threads);
            var transformer = new Transformer(config, weights, context, options.BatchSize, pool, options.Sequences);
            return new GenericModel(file, config, transformer, tokenizer);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ModelConfig Config { get; }

    public string Name => Config.Name;

    /// <summary>The model's Jinja chat template (<c>tokenizer.chat_template</c>), if it has one.</summary>
    public string? ChatTemplate => _file.Metadata.TryGetString("tokenizer.chat_template");

    public Tokenizer Tokenizer { get; }

    public TextGenerator Generator { get; }

    /// <summary>The file the model runs from.</summary>
    public string Path => _file.Path;

    public int ContextLength => _transformer.ContextLength;

    public int SequenceCount => _transformer.SequenceCount;

    public int VocabularySize => Config.VocabularySize;

    public int MaxBatch => _transformer.MaxBatch;

    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false) =>
        _transformer.Forward(tokens, position, allLogits);

    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs) =>
        _transformer.Forward(tokens, positions, sequences, outputs);

    /// <summary>Streams the continuation of <paramref name="prompt"/>.</summary>
    public IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Generator.GenerateAsync(prompt, options, cancellationToken);

    /// <summary>Logits of every position of <paramref name="tokens"/> (a fresh sequence from position 0): [tokens × vocabulary].</summary>
    public float[] EvaluateAll(ReadOnlySpan<int> tokens)
    {
        if (tokens.Length > ContextLength)
        {
            throw new PromptTooLongException(tokens.Length, ContextLength);
        }

        // The positions written below are no longer what the generator left there.
        Generator.ForgetCache();

        var all = new float[(long)tokens.Length * VocabularySize];
        for (int start = 0; start < tokens.Length; start += MaxBatch)
        {
            var batch = tokens.Slice(start, Math.Min(MaxBatch, tokens.Length - start));
            Forward(batch, start, allLogits: true).CopyTo(all.AsSpan(start * VocabularySize));
        }

        return all;
    }

    public void Dispose()
    {
        _transformer.Pool.Dispose();
        _transformer.Dispose();
        _file.Dispose();
    }
}
