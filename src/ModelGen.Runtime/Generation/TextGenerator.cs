using System.Runtime.CompilerServices;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// The generation loop over any <see cref="IForwardPass"/>: tokenize, prefill in batches, then sample, stream and
/// decode one token at a time until an end-of-generation token, a stop string, the token limit or a full context.
/// </summary>
/// <remarks>
/// A model has one KV cache and one set of buffers, so its generations run one at a time, from the first piece
/// requested until the enumeration ends or is disposed. <see cref="GenerateAsync(string, GenerationOptions?, CancellationToken)"/> waits its turn; the synchronous
/// <c>Generate</c> throws <see cref="InvalidOperationException"/> instead of waiting, because the generation it would
/// wait for may be one its own thread holds and never finishes.
/// <para>
/// The generator remembers which tokens the KV cache holds, up to the last one whose forward pass completed, so a
/// prompt given as tokens runs only what follows the longest prefix it shares with them: a conversation's next turn
/// runs its new messages, and interleaved conversations simply share a shorter prefix. What it remembers is only
/// what it ran; forward passes made on the model outside it must be followed by <see cref="ForgetCache"/>.
/// </para>
/// </remarks>
public sealed class TextGenerator(IForwardPass model, Tokenizer tokenizer)
{
    /// <summary>Held by the generation that is running: taken at its first piece, released when it ends or is disposed.</summary>
    private readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>The tokens of the most recent generation, prompt and sampled, from position 0.</summary>
    private int[] _cacheTokens = [];

    /// <summary>How many of <see cref="_cacheTokens"/> the KV cache holds: each forward pass that completes extends it.</summary>
    private int _cacheLength;

    /// <summary>Timings of the most recent (or current) generation.</summary>
    public GenerationStatistics Statistics { get; private set; } = new();

    public IForwardPass Model => model;

    public Tokenizer Tokenizer => tokenizer;

    /// <summary>Tokenizes a prompt as <c>llama_tokenize</c> does with add_special on (BOS where the model adds it).</summary>
    public int[] TokenizePrompt(string prompt, bool parseSpecial = true)
    {
        if (string.IsNullOrEmpty(prompt))
        {
            throw new ArgumentException("the prompt is empty: give some text to continue", nameof(prompt));
        }

        return tokenizer.Tokenize(prompt, addSpecial: true, parseSpecial);
    }

    /// <summary>Streams the continuation of <paramref name="prompt"/> as text pieces.</summary>
    /// <remarks>
    /// Calls on one model run one at a time: this one waits, asynchronously and until
    /// <paramref name="cancellationToken"/> is cancelled, for the running generation to end or be disposed. An
    /// enumeration left unfinished and undisposed keeps every later one waiting.
    /// </remarks>
    public IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        return InTurnAsync(CheckedPrompt(prompt, options), reuseCache: false, options, cancellationToken);
    }

    /// <summary>Streams the continuation of <paramref name="prompt"/> as text pieces, synchronously.</summary>
    /// <remarks>
    /// Generations on one model run one at a time: if another is in progress when the first piece is requested
    /// (on any thread, or an unfinished enumeration on this one), this throws <see cref="InvalidOperationException"/>
    /// rather than wait for it. Use <see cref="GenerateAsync(string, GenerationOptions?, CancellationToken)"/> to wait.
    /// </remarks>
    public IEnumerable<string> Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        return OneAtATime(CheckedPrompt(prompt, options), reuseCache: false, options, cancellationToken);
    }

    /// <summary>
    /// Streams the continuation of already tokenized <paramref name="prompt"/>, running only the tokens after the
    /// longest prefix it shares with what the KV cache holds (see <see cref="GenerationStatistics.CachedTokens"/>).
    /// </summary>
    /// <remarks>Throws <see cref="InvalidOperationException"/> if another generation is in progress, as the other overload does.</remarks>
    public IEnumerable<string> Generate(int[] prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        CheckTokens(prompt);
        return OneAtATime(prompt, reuseCache: true, options, cancellationToken);
    }

    /// <summary>
    /// Streams the continuation of already tokenized <paramref name="prompt"/>, running only the tokens after the
    /// longest prefix it shares with what the KV cache holds (see <see cref="GenerationStatistics.CachedTokens"/>).
    /// </summary>
    /// <remarks>Waits its turn as the other asynchronous overload does.</remarks>
    public IAsyncEnumerable<string> GenerateAsync(int[] prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        CheckTokens(prompt);
        return InTurnAsync(prompt, reuseCache: true, options, cancellationToken);
    }

    /// <summary>
    /// Forgets what the KV cache holds, so that the next generation runs its whole prompt: for callers that ran the
    /// model's forward pass themselves.
    /// </summary>
    public void ForgetCache() => _cacheLength = 0;

    /// <summary>The tokens sampled by the most recent generation.</summary>
    public int[] LastTokens { get; private set; } = [];

    private int[] CheckedPrompt(string prompt, GenerationOptions options)
    {
        var prompted = TokenizePrompt(prompt, options.ParseSpecialTokens);
        if (prompted.Length >= model.ContextLength)
        {
            throw new PromptTooLongException(prompted.Length, model.ContextLength);
        }

        return prompted;
    }

    private void CheckTokens(int[] prompt)
    {
        if (prompt.Length == 0)
        {
            throw new ArgumentException("the prompt is empty: give some tokens to continue", nameof(prompt));
        }

        if (prompt.Length >= model.ContextLength)
        {
            throw new PromptTooLongException(prompt.Length, model.ContextLength);
        }
    }

    /// <summary><see cref="Stream"/> holding the model's turn, waited for asynchronously.</summary>
    private async IAsyncEnumerable<string> InTurnAsync(int[] prompt, bool reuseCache, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            foreach (var piece in Stream(prompt, reuseCache: reuseCache, options, cancellationToken))
            {
                yield return piece;
                await Task.Yield();
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary><see cref="Stream"/> holding the model's turn, refused at once if another generation holds it.</summary>
    private IEnumerable<string> OneAtATime(int[] prompt, bool reuseCache, GenerationOptions options, CancellationToken cancellationToken)
    {
        if (!_turn.Wait(0))
        {
            throw new InvalidOperationException("another generation on this model is in progress: finish or dispose it first, or use GenerateAsync, which waits its turn");
        }

        try
        {
            foreach (var piece in Stream(prompt, reuseCache, options, cancellationToken))
            {
                yield return piece;
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <param name="prompt">The prompt's tokens.</param>
    /// <param name="reuseCache">
    /// Whether to skip the prompt's prefix that the KV cache holds; at least its last token always runs, for its logits.
    /// </param>
    /// <param name="options">The limits, stop strings and sampling of this generation.</param>
    /// <param name="cancellationToken">Ends the generation between tokens.</param>
    private IEnumerable<string> Stream(int[] prompt, bool reuseCache, GenerationOptions options, CancellationToken cancellationToken)
    {
        int cachedPrefix = 0;
        while (reuseCache && cachedPrefix < Math.Min(prompt.Length - 1, _cacheLength) && prompt[cachedPrefix] == _cacheTokens[cachedPrefix])
        {
            cachedPrefix++;
        }

        var stats = new GenerationStatistics { PromptTokens = prompt.Length - cachedPrefix, CachedTokens = cachedPrefix };
        var continuation = new Continuation(prompt, options, tokenizer, model, stats);
        // Positions from cachedPrefix on are rewritten by this generation: only what it completes is known from now on.
        _cacheTokens = continuation.Tokens;
        _cacheLength = cachedPrefix;
        Statistics = stats;
        LastTokens = [];
        options.Started?.Invoke(stats);
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var logits = Prefill(prompt, cachedPrefix, options.PrefillProgress, stats, cancellationToken);
        stats.PrefillTime = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            ThrowIfCancelled(stats, cancellationToken);
            var (text, ended) = continuation.Next(logits);
            LastTokens = continuation.Generated.ToArray();
            if (text.Length > 0)
            {
                yield return text;
            }

            if (ended)
            {
                yield break;
            }

            int length = continuation.Length;
            logits = model.Forward(continuation.Tokens.AsSpan(length - 1, 1), length - 1);
            _cacheLength = length;
            stats.DecodedTokens++;
            stats.DecodeTime = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        }
    }

    /// <summary>
    /// Runs the prompt through the model in batches and returns the logits after its last token, reporting the
    /// tokens run after each batch to <paramref name="progress"/>.
    /// </summary>
    private ReadOnlySpan<float> Prefill(ReadOnlySpan<int> prompt, int cachedPrefix, IProgress<(int Done, int Total)>? progress,
        GenerationStatistics stats, CancellationToken cancellationToken)
    {
        ReadOnlySpan<float> logits = default;
        for (int start = cachedPrefix; start < prompt.Length; start += model.MaxBatch)
        {
            ThrowIfCancelled(stats, cancellationToken);
            var batch = prompt.Slice(start, Math.Min(model.MaxBatch, prompt.Length - start));
            logits = model.Forward(batch, start);
            _cacheLength = start + batch.Length;
            progress?.Report((start + batch.Length - cachedPrefix, prompt.Length - cachedPrefix));
        }

        return logits;
    }

    private static void ThrowIfCancelled(GenerationStatistics stats, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            stats.StopReason = GenerationStopReason.Cancelled;
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
