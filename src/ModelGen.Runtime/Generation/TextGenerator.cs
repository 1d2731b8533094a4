using System.Runtime.CompilerServices;
using ModelGen.Runtime.Sampling;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// The generation loop over any <see cref="IForwardPass"/>: tokenize, prefill in batches, then sample, stream and
/// decode one token at a time until an end-of-generation token, a stop string, the token limit or a full context.
/// </summary>
public sealed class TextGenerator(IForwardPass model, Tokenizer tokenizer)
{
    public IForwardPass Model => model;

    public Tokenizer Tokenizer => tokenizer;

    /// <summary>Tokenizes a prompt as <c>llama_tokenize</c> does with add_special on (BOS where the model adds it).</summary>
    public int[] TokenizePrompt(string prompt, bool parseSpecial = true)
    {
        var tokens = tokenizer.Tokenize(prompt, addSpecial: true, parseSpecial);
        if (tokens.Length == 0)
        {
            throw new ArgumentException("the prompt is empty and the model adds no BOS token: nothing to continue from", nameof(prompt));
        }

        return tokens;
    }

    /// <summary>Streams the continuation of <paramref name="prompt"/> as text pieces.</summary>
    public async IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var piece in Generate(prompt, options, cancellationToken))
        {
            yield return piece;
            await Task.Yield();
        }
    }

    /// <summary>Streams the continuation of <paramref name="prompt"/> as text pieces, synchronously.</summary>
    public IEnumerable<string> Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new GenerationOptions();
        var prompted = TokenizePrompt(prompt, options.ParseSpecialTokens);
        if (prompted.Length >= model.ContextLength)
        {
            throw new PromptTooLongException(prompted.Length, model.ContextLength);
        }

        return Stream(prompted, options, cancellationToken);
    }

    private IEnumerable<string> Stream(int[] prompt, GenerationOptions options, CancellationToken cancellationToken)
    {
        var history = new int[model.ContextLength];
        prompt.CopyTo(history, 0);
        int length = prompt.Length;
        var sampler = new Sampler(options.Sampling, model.VocabularySize);
        var detokenizer = new StreamingDetokenizer(tokenizer);
        var stops = new StopStringFilter(options.StopStrings);

        var logits = Prefill(prompt, cancellationToken);
        for (int generated = 0; generated < options.MaxTokens; generated++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int token = sampler.Sample(logits, history.AsSpan(0, length));
            if (tokenizer.IsEndOfGeneration(token))
            {
                break;
            }

            history[length++] = token;
            var (text, stopped) = stops.Push(detokenizer.Append(token));
            if (text.Length > 0)
            {
                yield return text;
            }

            if (stopped || length == model.ContextLength)
            {
                yield break;
            }

            logits = model.Forward(history.AsSpan(length - 1, 1), length - 1);
        }

        var (rest, _) = stops.Push(detokenizer.Flush(), final: true);
        if (rest.Length > 0)
        {
            yield return rest;
        }
    }

    /// <summary>Runs the prompt through the model in batches and returns the logits after its last token.</summary>
    private ReadOnlySpan<float> Prefill(ReadOnlySpan<int> prompt, CancellationToken cancellationToken)
    {
        ReadOnlySpan<float> logits = default;
        for (int start = 0; start < prompt.Length; start += model.MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = prompt.Slice(start, Math.Min(model.MaxBatch, prompt.Length - start));
            logits = model.Forward(batch, start);
        }

        return logits;
    }
}
