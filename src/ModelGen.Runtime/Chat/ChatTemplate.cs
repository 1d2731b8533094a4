using System.Text;
using ModelGen.Runtime.Chat.Jinja;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Chat;

/// <summary>One turn of a conversation.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Formats conversations for a model: with the model's own Jinja template (<c>tokenizer.chat_template</c>) when it
/// has one, rendered by <see cref="JinjaTemplate"/>; otherwise with a built-in format (ChatML, Llama 3, Llama 2,
/// Zephyr, Phi-3, Gemma) recognised by the template's markers, or as plain text.
/// </summary>
public sealed class ChatTemplate
{
    private readonly Func<IReadOnlyList<ChatMessage>, bool, string> _format;
    private readonly IReadOnlyList<string> _stopStrings;

    private ChatTemplate(string name, Func<IReadOnlyList<ChatMessage>, bool, string> format, params string[] stops)
    {
        Name = name;
        _format = format;
        _stopStrings = stops;
    }

    /// <summary>jinja (the model's own template), or the built-in format: chatml, llama3, llama2, zephyr, phi3, gemma or plain.</summary>
    public string Name { get; }

    /// <summary>Texts that end an assistant turn, besides the model's end-of-generation tokens.</summary>
    public IReadOnlyList<string> StopStrings => _stopStrings;

    /// <summary>The conversation with the assistant's turn opened, ready to continue.</summary>
    public string Format(IReadOnlyList<ChatMessage> messages) => _format(messages, true);

    /// <summary>
    /// The conversation, with the assistant's turn opened when <paramref name="addGenerationPrompt"/> (a template's
    /// <c>add_generation_prompt</c>).
    /// </summary>
    public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) => _format(messages, addGenerationPrompt);

    /// <summary>The built-in format that <paramref name="jinja"/> (a model's chat_template) looks like, or plain text.</summary>
    public static ChatTemplate Detect(string? jinja) => jinja switch
    {
        null => Plain,
        _ when jinja.Contains("<|im_start|>", StringComparison.Ordinal) => ChatMl,
        _ when jinja.Contains("<|start_header_id|>", StringComparison.Ordinal) => Llama3,
        _ when jinja.Contains("<start_of_turn>", StringComparison.Ordinal) => Gemma,
        // Phi-3 has Zephyr's role markers but ends turns with <|end|>, not </s>.
        _ when jinja.Contains("<|assistant|>", StringComparison.Ordinal) && jinja.Contains("<|end|>", StringComparison.Ordinal) => Phi3,
        _ when jinja.Contains("<|user|>", StringComparison.Ordinal) => Zephyr,
        _ when jinja.Contains("[INST]", StringComparison.Ordinal) => Llama2,
        _ => Plain,
    };

    /// <summary>The template for <paramref name="model"/>: see <see cref="Create"/>; messages name the model by its name.</summary>
    public static ChatTemplate For(ILanguageModel model, Action<string>? report = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(model.ChatTemplate, model.Tokenizer, model.Name, report);
    }

    /// <summary>
    /// The template for a model whose chat_template is <paramref name="jinja"/> and whose tokenizer is
    /// <paramref name="tokenizer"/> (it gives <c>bos_token</c> and <c>eos_token</c>). A template that does not parse,
    /// or later fails to render, is replaced by the built-in format it looks like (see <see cref="Detect"/>), and
    /// <paramref name="report"/> is told once, with <paramref name="source"/> (the model's file) and the error.
    /// </summary>
    /// <param name="jinja">The model's <c>tokenizer.chat_template</c>; null for none, which gives <see cref="Plain"/>.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="source">What to call the model in a report, normally its file's name.</param>
    /// <param name="report">Told, once, when the model's template is not used; its text quotes the file and template unescaped.</param>
    /// <param name="clock">What the template's <c>strftime_now</c> reads; the local time when null.</param>
    public static ChatTemplate Create(string? jinja, Tokenizer tokenizer, string source, Action<string>? report = null, Func<DateTimeOffset>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(source);
        var builtIn = Detect(jinja);
        if (jinja is null)
        {
            return builtIn;
        }

        JinjaTemplate parsed;
        try
        {
            parsed = JinjaTemplate.Parse(jinja);
        }
        catch (TemplateException e)
        {
            report?.Invoke($"{source}: its chat template cannot be used ({e.Message}); formatting with the built-in {builtIn.Name} format instead");
            return builtIn;
        }

        var model = new ModelTemplate(parsed, tokenizer, builtIn, source, report, clock);
        // A template of no known family has no stop strings: the model's end-of-generation tokens end its turns.
        return new ChatTemplate("jinja", model.Format, builtIn == Plain ? [] : [.. builtIn.StopStrings]);
    }

    /// <summary>A model's Jinja template, and the built-in format that takes over if it fails.</summary>
    private sealed class ModelTemplate(JinjaTemplate template, Tokenizer tokenizer, ChatTemplate fallback, string source, Action<string>? report,
        Func<DateTimeOffset>? clock)
    {
        private readonly string _bos = TokenText(tokenizer, tokenizer.BosId);
        private readonly string _eos = TokenText(tokenizer, tokenizer.EosId);
        private volatile bool _failed;

        public string Format(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
        {
            if (_failed)
            {
                return fallback.Format(messages, addGenerationPrompt);
            }

            string rendered;
            try
            {
                rendered = template.Render(
                    [
                        new("messages", messages.Select(m => new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content })),
                        new("add_generation_prompt", addGenerationPrompt),
                        new("bos_token", _bos),
                        new("eos_token", _eos),
                    ],
                    clock);
            }
            catch (TemplateException e)
            {
                // Once only: a conversation formatted two ways would not share its cached prefix from turn to turn.
                _failed = true;
                report?.Invoke($"{source}: its chat template failed ({e.Message}); formatting with the built-in {fallback.Name} format from now on");
                return fallback.Format(messages, addGenerationPrompt);
            }

            // The tokenizer adds BOS and EOS itself when the model asks for them: a template's own would double them
            // (llama.cpp's chat code removes them the same way).
            if (tokenizer.AddBos && _bos.Length > 0 && rendered.StartsWith(_bos, StringComparison.Ordinal))
            {
                rendered = rendered[_bos.Length..];
            }

            if (tokenizer.AddEos && _eos.Length > 0 && rendered.EndsWith(_eos, StringComparison.Ordinal))
            {
                rendered = rendered[..^_eos.Length];
            }

            return rendered;
        }

        private static string TokenText(Tokenizer tokenizer, int? token) => token is { } id && id >= 0 && id < tokenizer.VocabularySize ? tokenizer.GetTokenText(id) : "";
    }

    /// <summary>ChatML: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>.</summary>
    public static ChatTemplate ChatMl { get; } = new("chatml", (messages, prompt) =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
        }

        return (prompt ? sb.Append("<|im_start|>assistant\n") : sb).ToString();
    }, "<|im_end|>");

    /// <summary>Llama 3: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c>.</summary>
    public static ChatTemplate Llama3 { get; } = new("llama3", (messages, prompt) =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Append(m.Content.Trim()).Append("<|eot_id|>");
        }

        return (prompt ? sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n") : sb).ToString();
    }, "<|eot_id|>");

    /// <summary>Llama 2: <c>[INST] &lt;&lt;SYS&gt;&gt;\nsystem\n&lt;&lt;/SYS&gt;&gt;\n\nuser [/INST] reply &lt;/s&gt;</c>.</summary>
    public static ChatTemplate Llama2 { get; } = new("llama2", (messages, _) =>
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

    /// <summary>Zephyr: <c>&lt;|role|&gt;\ncontent&lt;/s&gt;\n</c>.</summary>
    public static ChatTemplate Zephyr { get; } = new("zephyr", (messages, prompt) =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append("</s>\n");
        }

        return (prompt ? sb.Append("<|assistant|>\n") : sb).ToString();
    }, "</s>", "<|user|>");

    /// <summary>Phi-3: <c>&lt;|role|&gt;\ncontent&lt;|end|&gt;\n</c>, as llama.cpp's built-in phi3 format.</summary>
    public static ChatTemplate Phi3 { get; } = new("phi3", (messages, prompt) =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append("<|").Append(m.Role).Append("|>\n").Append(m.Content).Append("<|end|>\n");
        }

        return (prompt ? sb.Append("<|assistant|>\n") : sb).ToString();
    }, "<|end|>", "<|user|>");

    /// <summary>
    /// Gemma: <c>&lt;start_of_turn&gt;user\ncontent&lt;end_of_turn&gt;\n</c>, the assistant's role called model. Gemma has
    /// no system role: a system message opens the next user turn, as Gemma 3's template and llama.cpp put it.
    /// </summary>
    public static ChatTemplate Gemma { get; } = new("gemma", (messages, prompt) =>
    {
        var sb = new StringBuilder();
        var system = "";
        foreach (var m in messages)
        {
            if (m.Role == "system")
            {
                system += m.Content.Trim();
                continue;
            }

            var role = m.Role == "assistant" ? "model" : m.Role;
            sb.Append("<start_of_turn>").Append(role).Append('\n');
            if (system.Length > 0 && role != "model")
            {
                sb.Append(system).Append("\n\n");
                system = "";
            }

            sb.Append(m.Content.Trim()).Append("<end_of_turn>\n");
        }

        return (prompt ? sb.Append("<start_of_turn>model\n") : sb).ToString();
    }, "<end_of_turn>");

    /// <summary>No template: "User: ...\nAssistant: ..." lines.</summary>
    public static ChatTemplate Plain { get; } = new("plain", (messages, prompt) =>
    {
        var sb = new StringBuilder();
        foreach (var m in messages)
        {
            sb.Append(char.ToUpperInvariant(m.Role[0])).Append(m.Role.AsSpan(1)).Append(": ").Append(m.Content.Trim()).Append('\n');
        }

        return (prompt ? sb.Append("Assistant:") : sb).ToString();
    }, "\nUser:");
}
