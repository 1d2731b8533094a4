using System.Text;
using ModelGen.Runtime.Generation;

namespace ModelGen.Runtime.Chat;

/// <summary>
/// A conversation with a model. Each turn formats the whole conversation with the template, but only the tokens
/// after the longest prefix already in the KV cache are run again.
/// </summary>
public sealed class ChatSession(TextGenerator generator, ChatTemplate template, string? systemPrompt = null)
{
    private readonly List<ChatMessage> _messages = systemPrompt is null ? [] : [new("system", systemPrompt)];
    private int[] _cached = [];

    public IReadOnlyList<ChatMessage> Messages => _messages;

    public ChatTemplate Template => template;

    /// <summary>Adds the user's message and streams the assistant's reply, which joins the conversation.</summary>
    public IEnumerable<string> Send(string userMessage, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        _messages.Add(new ChatMessage("user", userMessage));
        var prompt = generator.TokenizePrompt(template.Format(_messages));
        int reuse = 0;
        while (reuse < Math.Min(prompt.Length - 1, _cached.Length) && prompt[reuse] == _cached[reuse])
        {
            reuse++;
        }

        var reply = new StringBuilder();
        var withStops = options with { StopStrings = [.. options.StopStrings, .. template.StopStrings] };
        foreach (var piece in generator.Generate(prompt, reuse, withStops, cancellationToken))
        {
            reply.Append(piece);
            yield return piece;
        }

        _cached = [.. prompt, .. generator.LastTokens];
        _messages.Add(new ChatMessage("assistant", reply.ToString().Trim()));
    }
}
