namespace ModelGen.Runtime.Engine;

/// <summary>Result of <see cref="Perplexity.Compute"/>.</summary>
/// <param name="Value">exp of the mean negative log-likelihood over every scored token.</param>
/// <param name="Chunks">Chunks evaluated.</param>
/// <param name="ScoredTokens">Tokens scored.</param>
/// <param name="ChunkValues">The running perplexity after each chunk, as llama-perplexity prints it.</param>
public sealed record PerplexityResult(double Value, int Chunks, int ScoredTokens, IReadOnlyList<double> ChunkValues);

/// <summary>Perplexity computed the way <c>llama-perplexity</c> computes it.</summary>
public static class Perplexity
{
    /// <summary>
    /// Splits <paramref name="tokens"/> (the text tokenized with BOS) into chunks of <paramref name="contextLength"/>,
    /// evaluates each from position 0 with its first token replaced by BOS when the model adds one, and scores the
    /// second half of each chunk: token j+1 against the logits at position j, for j from n/2 to n-2.
    /// </summary>
    public static PerplexityResult Compute(GenericModel model, ReadOnlySpan<int> tokens, int contextLength, IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (contextLength < 4 || contextLength > model.ContextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, $"the context must be 4 to {model.ContextLength} tokens");
        }

        if (tokens.Length < 2 * contextLength)
        {
            throw new ArgumentException($"perplexity with a context of {contextLength} needs at least {2 * contextLength} tokens; the text has {tokens.Length}");
        }

        int chunks = tokens.Length / contextLength, first = contextLength / 2, vocabulary = model.VocabularySize;
        var chunk = new int[contextLength];
        var values = new List<double>(chunks);
        double nll = 0;
        int count = 0;
        for (int c = 0; c < chunks; c++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            tokens.Slice(c * contextLength, contextLength).CopyTo(chunk);
            if (model.Tokenizer.AddBos && model.Tokenizer.BosId is { } bos)
            {
                chunk[0] = bos;
            }

            var logits = model.EvaluateAll(chunk);
            for (int j = first; j < contextLength - 1; j++)
            {
                nll -= LogSoftmax(logits.AsSpan(j * vocabulary, vocabulary), tokens[c * contextLength + j + 1]);
                count++;
            }

            values.Add(Math.Exp(nll / count));
            progress?.Report((c + 1.0) / chunks);
        }

        return new PerplexityResult(Math.Exp(nll / count), chunks, count, values);
    }

    /// <summary>log softmax(logits)[token], with llama-perplexity's float/double mix.</summary>
    internal static double LogSoftmax(ReadOnlySpan<float> logits, int token)
    {
        float max = logits[0];
        foreach (float v in logits)
        {
            max = MathF.Max(max, v);
        }

        double sum = 0;
        foreach (float v in logits)
        {
            sum += MathF.Exp(v - max);
        }

        return logits[token] - max - Math.Log(sum);
    }
}
