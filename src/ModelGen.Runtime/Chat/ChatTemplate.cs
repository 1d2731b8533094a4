using System.Text;

namespace ModelGen.Runtime.Chat;

/// <summary>One turn of a conversation.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Formats conversations for the chat templates that models commonly ship in <c>tokenizer.chat_template</c>,
/// recognised by their markers (ChatML, Llama 3, Llama 2, Zephyr, Gemma), or as plain text otherwise.
/// </summary>
public sealed class ChatTemplate
{
    private readonly Func<IReadOnlyList<ChatMessage>, string> _format;

    private ChatTemplate(string name, Func<IReadOnlyList<ChatMessage>, string> format, params string[] stops)
    {
        Name = name;
        _format = format;
        StopStrings = stops;
    }

    /// <summary>chatml, llama3, llama2, zephyr, gemma or plain.</summary>
    public string Name { get; }

    /// <summary>Texts that end an assistant turn, besides the model's end-of-generation tokens.</summary>
    public IReadOnlyList<string> StopStrings { get; }

    /// <summary>The conversation with the assistant's turn opened, ready to continue.</summary>
    public string Format(IReadOnlyList<ChatMessage> messages) => _format(messages);

    /// <summary>Picks the template that <paramref name="jinja"/> (the model's chat_template) is, or plain text.</summary>
    public static ChatTemplate Detect(string? jinja) => jinja switch
    {
        null => Plain,
        _ when jinja.Contains("<|im_start|>", StringComparison.Ordinal) => ChatMl,
        _ when jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) => Llama3,
        _ when jinja.Contains("<start_of_turn>", StringComparison.Ordinal) => Gemma,
        _ when jinja.Contains("<|user|>", StringComparison.Ordinal) => Zephyr,
        _ when jinja.Contains("[INST]", StringComparison.Ordinal) => Llama2,
        _ => Plain,
    };

    public static ChatTemplate ChatMl { get; } = new("chatml", messages =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        }

        return sb.Append("<|im_start|>assistant\n").ToString();
    }, "<|im_end|>");

    public static ChatTemplate Llama3 { get; } = new("llama3", messages =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Append(m.Content.Trim()).Append("<|eot_id|>");
        }

        return sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n").ToString();
    }, "<|eot_id|>");

    public static ChatTemplate Llama2 { get; } = new("llama2", messages =>
    {
        var sb = new StringBuilder();
        string? system = null;
        foreach (var m in messages)
        {
            switch (m.Role)
            {
                case "system":
                    system = m.Content;
                    break;
                case "user":
                    sb.Append("[INST] ");
                    if (system is not null)
                    {
                        sb.Append("<<SYS>>\n").Append(system).Append("\n<</SYS>>\n\n");
                        system = null;
                    }

                    sb.Append(m.Content.Trim()).Append(" [/INST]");
                    break;
                default:
                    sb.Append(' ').Append(m.Content.Trim()).Append(" </s>");
                    break;
            }
        }

        return sb.ToString();
    }, "[INST]");

    public static ChatTemplate Zephyr { get; } = new("zephyr", messages =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append("</s>\n");
        }

        return sb.Append("<|assistant|>\n").ToString();
    }, "</s>", "<|user|>");

    public static ChatTemplate Gemma { get; } = new("gemma", messages =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            var role = m.Role == "assistant" ? "model" : "user";
            sb.Append("<start_of_turn>").Append(role).Append('\n').Append(m.Content.Trim()).Append("<end_of_turn>\n");
        }

        return sb.Append("<start_of_turn>model\n").ToString();
    }, "<end_of_turn>");

    /// <summary>No template: "User: ...\nAssistant: ..." lines.</summary>
    public static ChatTemplate Plain { get; } = new("plain", messages =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append(char.ToUpperInvariant(m.Role[0])).Append(m.Role.AsSpan(1)).Append(": ").Append(m.Content.Trim()).Append('\n');
        }

        return sb.Append("Assistant:").ToString();
    }, "\nUser:");
}
