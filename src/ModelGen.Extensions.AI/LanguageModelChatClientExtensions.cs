using Microsoft.Extensions.AI;
using ModelGen.Runtime.Generation;

namespace ModelGen.Extensions.AI;

/// <summary>Makes any ModelGen model a Microsoft.Extensions.AI chat client: <c>model.AsChatClient()</c>.</summary>
public static class LanguageModelChatClientExtensions
{
    /// <summary>
    /// <paramref name="model"/> (the generic engine's or a compiled class) as Microsoft.Extensions.AI's
    /// <see cref="IChatClient"/>, formatting conversations with the model's chat template.
    /// </summary>
    /// <remarks>
    /// The client keeps no state of its own: every call sends the whole conversation, and the model's generator runs
    /// only what follows the longest prefix its KV cache already holds, so a conversation that goes on from the last
    /// reply costs its new messages. Disposing the client leaves the model to its owner.
    /// </remarks>
    public static IChatClient AsChatClient(this ILanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new LanguageModelChatClient(model);
    }
}
