using System.Text;
using ModelGen.Runtime.Generation;

namespace ModelGen.Runtime.Chat;

/// <summary>
/// A conversation with a model. Each turn formats the whole conversation with the template, but only the tokens
/// after the longest prefix already in the KV cache are run again (the generator keeps track of what it holds).
/// </summary>
/// <remarks>
/// When the conversation no longer leaves room in the context for a reply, the oldest turns (a user message and its
/// reply) are dropped, the system prompt kept, and <see cref="ContextShifted"/> is raised; the cache is then reused
/// up to the first token that differs, normally the end of the system prompt. A reply that fails, is cancelled or is
/// abandoned (its enumeration disposed early) leaves the conversation as it was before its message: the message and
/// the partial reply are dropped, so a cut-off answer never conditions later ones, and any turns dropped for room
/// come back.
/// </remarks>
public sealed class ChatSession(TextGenerator generator, ChatTemplate template, string? systemPrompt = null)
{
    private readonly List<ChatMessage> _messages = systemPrompt is null ? [] : [new("system", systemPrompt)];

    public IReadOnlyList<ChatMessage> Messages => _messages;

    public ChatTemplate Template => template;

    /// <summary>Raised by <see cref="Send"/>, before the reply starts, when older turns were dropped to make room.</summary>
    public event Action<ContextShift>? ContextShifted;

    /// <summary>Forgets every turn but the system prompt.</summary>
    public void Clear() => _messages.RemoveRange(systemPrompt is null ? 0 : 1, _messages.Count - (systemPrompt is null ? 0 : 1));

    /// <summary>Adds the user's message and streams the assistant's reply, which joins the conversation.</summary>
    /// <exception cref="PromptTooLongException">
    /// The message, with the system prompt and the template around it, leaves no room for a reply token even without
    /// earlier turns. The session stays usable; the message is not added.
    /// </exception>
    public IEnumerable<string> Send(string userMessage, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        var before = _messages.ToArray();
        _messages.Add(new ChatMessage("user", userMessage));
        bool answered = false;
        try
        {
            var prompt = FitToContext(options.MaxTokens);
            var reply = new StringBuilder();
            var withStops = options with { StopStrings = [.. options.StopStrings, .. template.StopStrings] };
            foreach (var piece in generator.Generate(prompt, withStops, cancellationToken))
            {
                reply.Append(piece);
                yield return piece;
            }

            _messages.Add(new ChatMessage("assistant", reply.ToString().Trim()));
            answered = true;
        }
        finally
        {
            if (!answered)
            {
                // Turns dropped to make room for this message come back with it gone.
                _messages.Clear();
                _messages.AddRange(before);
            }
        }
    }

    /// <summary>
    /// The conversation's prompt, after dropping the oldest turns until it leaves room for a reply of
    /// <paramref name="maxTokens"/> tokens, or half the context if that is less (a longer reply ends at a full context).
    /// </summary>
    private int[] FitToContext(int maxTokens)
    {
        int context = generator.Model.ContextLength;
        int replyRoom = Math.Max(1, maxTokens < 0 ? context / 2 : Math.Min(maxTokens, context / 2));
        var prompt = generator.TokenizePrompt(template.Format(_messages));
        if (prompt.Length + replyRoom <= context)
        {
            return prompt;
        }

        // Refused before anything is dropped: a message that cannot fit even alone must not cost the history.
        int kept = systemPrompt is null ? 0 : 1;
        var alone = generator.TokenizePrompt(template.Format([.. _messages.Take(kept), _messages[^1]]));
        if (alone.Length >= context)
        {
            throw new PromptTooLongException(alone.Length, context);
        }

        int droppedTurns = 0;
        while (prompt.Length + replyRoom > context && DropOldestTurn())
        {
            droppedTurns++;
            prompt = generator.TokenizePrompt(template.Format(_messages));
        }

        if (droppedTurns > 0)
        {
            ContextShifted?.Invoke(new ContextShift(droppedTurns, prompt.Length, context));
        }

        return prompt;
    }

    /// <summary>Removes the first user message and the reply to it, never the system prompt or the message being sent.</summary>
    private bool DropOldestTurn()
    {
        int first = systemPrompt is null ? 0 : 1;
        if (first >= _messages.Count - 1)
        {
            return false;
        }

        int count = first + 1 < _messages.Count - 1 && _messages[first + 1].Role == "assistant" ? 2 : 1;
        _messages.RemoveRange(first, count);
        return true;
    }
}

/// <summary>Turns dropped from the start of a conversation to make room for a reply.</summary>
/// <param name="DroppedTurns">User messages dropped, each with its reply.</param>
/// <param name="PromptTokens">The prompt's length after dropping them.</param>
/// <param name="ContextLength">The model's context length.</param>
public readonly record struct ContextShift(int DroppedTurns, int PromptTokens, int ContextLength);
