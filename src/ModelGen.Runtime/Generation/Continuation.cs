using ModelGen.Runtime.Sampling;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// What follows one prompt, a token at a time: samples from the logits of the last position with the request's own
/// sampler, detokenizes as it streams, cuts at stop strings and decides when generation ends. The one place both
/// <see cref="TextGenerator"/> and <see cref="BatchGenerator"/> make these decisions, so a sequence generated in a
/// batch gives the text it gives alone.
/// </summary>
internal sealed class Continuation
{
    private readonly GenerationOptions _options;
    private readonly Tokenizer _tokenizer;
    private readonly Sampler _sampler;
    private readonly StreamingDetokenizer _detokenizer;
    private readonly StopStringFilter _stops;

    public Continuation(int[] prompt, GenerationOptions options, Tokenizer tokenizer, IForwardPass model, GenerationStatistics statistics)
    {
        if (options.MaxTokens < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokens, "MaxTokens must be -1 (until the context is full) or at least 0");
        }

        _options = options;
        _tokenizer = tokenizer;
        _sampler = new Sampler(options.Sampling, model.VocabularySize);
        _detokenizer = new StreamingDetokenizer(tokenizer);
        _stops = new StopStringFilter(options.StopStrings);
        Tokens = new int[model.ContextLength];
        prompt.CopyTo(Tokens, 0);
        Length = PromptLength = prompt.Length;
        Statistics = statistics;
    }

    /// <summary>The prompt, then the tokens sampled: room for the whole context.</summary>
    public int[] Tokens { get; }

    /// <summary>Tokens in <see cref="Tokens"/>: the last one is the next to run through the model.</summary>
    public int Length { get; private set; }

    public int PromptLength { get; }

    public GenerationStatistics Statistics { get; }

    /// <summary>The tokens sampled so far.</summary>
    public ReadOnlySpan<int> Generated => Tokens.AsSpan(PromptLength, Length - PromptLength);

    /// <summary>
    /// Takes the logits of the last token run, samples the next one (unless the token limit has been reached) and
    /// returns the text it completes, and whether generation has ended (<see cref="GenerationStatistics.StopReason"/>
    /// says why). When it has not, the token sampled, at position <see cref="Length"/> - 1, must run next.
    /// </summary>
    public (string Text, bool Ended) Next(ReadOnlySpan<float> logits)
    {
        if (_options.MaxTokens >= 0 && Statistics.GeneratedTokens == _options.MaxTokens)
        {
            return End(GenerationStopReason.TokenLimit);
        }

        int token = _sampler.Sample(logits, Tokens.AsSpan(0, Length));
        if (_tokenizer.IsEndOfGeneration(token))
        {
            return End(GenerationStopReason.EndOfGeneration);
        }

        Tokens[Length++] = token;
        Statistics.GeneratedTokens++;
        var (text, stopped) = _stops.Push(_detokenizer.Append(token));
        if (stopped || Length == Tokens.Length)
        {
            // A stop string ends the text where it starts, and a full context where the last token's text ends.
            Statistics.StopReason = stopped ? GenerationStopReason.StopString : GenerationStopReason.ContextFull;
            return (text, true);
        }

        return (text, false);
    }

    /// <summary>Ends generation for <paramref name="reason"/>, releasing the text held back for stop strings or unfinished characters.</summary>
    private (string Text, bool Ended) End(GenerationStopReason reason)
    {
        Statistics.StopReason = reason;
        return (_stops.Push(_detokenizer.Flush(), final: true).Text, true);
    }
}
