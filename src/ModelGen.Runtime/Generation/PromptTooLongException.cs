namespace ModelGen.Runtime.Generation;

/// <summary>A prompt that does not leave room in the context for a single generated token.</summary>
public sealed class PromptTooLongException(int promptTokens, int contextLength)
    : Exception($"the prompt is {promptTokens} tokens but the context holds {contextLength}: shorten the prompt or raise the context length")
{
    public int PromptTokens { get; } = promptTokens;

    public int ContextLength { get; } = contextLength;
}
