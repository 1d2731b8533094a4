using ModelGen.Gguf;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Chat.Jinja;
using ModelGen.Runtime.Tests.Tokenization;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Tests.Chat;

/// <summary>
/// <see cref="ChatTemplate"/> with models' own templates: hand-written expected prompts for Gemma 3, Phi-3, ChatML
/// (Qwen2.5) and Llama 3 with a system prompt and several turns, the templates the shared GGUF files carry, the
/// built-in formats it falls back to, and the fallback itself.
/// </summary>
public sealed class ChatTemplateTests
{
    private static readonly ChatMessage[] Conversation =
    [
        new("system", "You are a helpful assistant."),
        new("user", "Hello!"),
        new("assistant", "Hi. How can I help?"),
        new("user", "What is 2 + 2?"),
    ];

    private static string Template(string file) => File.ReadAllText(Path.Combine(LlamaCppChatTemplateTests.TemplateDirectory, file));

    private static Tokenizer Vocabulary(string name) => Vocabularies.Get(name).Tokenizer;

    private static string RenderGemma3(IReadOnlyList<ChatMessage> messages, bool prompt) => JinjaTemplate.Parse(Template("gemma-3.jinja")).Render(
    [
        new("messages", messages.Select(m => JinjaTemplateTests.Message(m.Role, m.Content))),
        new("add_generation_prompt", prompt),
        new("bos_token", "<bos>"),
        new("eos_token", "<eos>"),
    ]);

    [Fact]
    public void Gemma_3_puts_the_system_prompt_in_the_first_user_turn()
    {
        Assert.Equal(
            "<bos><start_of_turn>user\nYou are a helpful assistant.\n\nHello!<end_of_turn>\n" +
            "<start_of_turn>model\nHi. How can I help?<end_of_turn>\n" +
            "<start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n" +
            "<start_of_turn>model\n",
            RenderGemma3(Conversation, prompt: true));
        Assert.Equal(
            "<bos><start_of_turn>user\nHello!<end_of_turn>\n" +
            "<start_of_turn>model\nHi. How can I help?<end_of_turn>\n" +
            "<start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n",
            RenderGemma3(Conversation[1..], prompt: false));
        var e = Assert.Throws<TemplateException>(() => RenderGemma3([new("user", "a"), new("user", "b")], prompt: true));
        Assert.True(e.IsRaisedByTemplate);
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", e.Reason);
    }

    [Fact]
    public void Phi_3_5_ends_turns_with_end_and_the_conversation_with_eos_when_not_prompting()
    {
        var tokenizer = Vocabulary("phi-3");
        Assert.Equal("<s>", tokenizer.GetTokenText(tokenizer.BosId!.Value));
        Assert.Equal("<|endoftext|>", tokenizer.GetTokenText(tokenizer.EosId!.Value));
        Assert.False(tokenizer.AddEos);
        var template = ChatTemplate.Create(Template("phi-3.5-mini.jinja"), tokenizer, "phi-3.5-mini.gguf");
        Assert.Equal("jinja", template.Name);
        Assert.Equal(["<|end|>", "<|user|>"], template.StopStrings);
        Assert.Equal(
            "<|system|>\nYou are a helpful assistant.<|end|>\n" +
            "<|user|>\nHello!<|end|>\n" +
            "<|assistant|>\nHi. How can I help?<|end|>\n" +
            "<|user|>\nWhat is 2 + 2?<|end|>\n" +
            "<|assistant|>\n",
            template.Format(Conversation));
        Assert.Equal(
            "<|user|>\nHello!<|end|>\n" +
            "<|assistant|>\nHi. How can I help?<|end|>\n" +
            "<|user|>\nWhat is 2 + 2?<|end|>\n" +
            "<|endoftext|>",
            template.Format(Conversation[1..], addGenerationPrompt: false));
    }

    [Fact]
    public void ChatML_of_Qwen2_5_gives_a_default_system_prompt_when_there_is_none()
    {
        var template = ChatTemplate.Create(Template("qwen2.5.jinja"), Vocabulary("qwen2"), "qwen2.5.gguf");
        Assert.Equal(["<|im_end|>"], template.StopStrings);
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\nHello!<|im_end|>\n" +
            "<|im_start|>assistant\nHi. How can I help?<|im_end|>\n" +
            "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n" +
            "<|im_start|>assistant\n",
            template.Format(Conversation));
        Assert.Equal(
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\nHello!<|im_end|>\n" +
            "<|im_start|>assistant\nHi. How can I help?<|im_end|>\n" +
            "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n",
            template.Format(Conversation[1..], addGenerationPrompt: false));
    }

    /// <summary>The template writes BOS, and so does the tokenizer: the formatted text leaves it to the tokenizer, so the prompt has one.</summary>
    [Fact]
    public void Llama_3_trims_messages_and_leaves_bos_to_the_tokenizer()
    {
        var tokenizer = Vocabulary("llama-bpe");
        Assert.True(tokenizer.AddBos);
        var template = ChatTemplate.Create(Template("llama-3.jinja"), tokenizer, "llama-3.gguf");
        Assert.Equal(["<|eot_id|>"], template.StopStrings);
        ChatMessage[] padded = [new("system", "  You are a helpful assistant.\n"), .. Conversation[1..]];
        var formatted = template.Format(padded);
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi. How can I help?<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            formatted);
        var tokens = tokenizer.Tokenize(formatted, addSpecial: true, parseSpecial: true);
        Assert.Equal(tokenizer.BosId, tokens[0]);
        Assert.NotEqual(tokenizer.BosId, tokens[1]);
        Assert.Equal(tokenizer.FindToken("<|start_header_id|>"), tokens[1]);
    }

    [Fact]
    public void Llama_3_2_dates_the_system_turn_with_the_injected_clock()
    {
        var template = ChatTemplate.Create(Template("llama-3.2.jinja"), Vocabulary("llama-bpe"), "llama-3.2.gguf",
            clock: () => new DateTimeOffset(2026, 12, 2, 23, 0, 0, TimeSpan.Zero));
        Assert.Equal(
            "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 02 Dec 2026\n\n" +
            "You are a helpful assistant.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\nHi. How can I help?<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>",
            template.Format(Conversation, addGenerationPrompt: false));
    }

    /// <summary>The shared vocabularies that carry a chat_template: rendered from the file, and as llama.cpp formats them.</summary>
    /// <remarks>
    /// Phi-3's template drops a system message, which llama.cpp's phi3 format keeps, so it is compared without one;
    /// Qwen2's writes a default one when there is none, which llama.cpp's chatml does not, so it is compared with one.
    /// </remarks>
    [Theory]
    [InlineData("phi-3", "ggml-vocab-phi-3.gguf", false,
        "<|user|>\nHello!<|end|>\n<|assistant|>\nHi. How can I help?<|end|>\n<|user|>\nWhat is 2 + 2?<|end|>\n<|assistant|>\n")]
    [InlineData("qwen2", "ggml-vocab-qwen2.gguf", true,
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi. How can I help?<|im_end|>\n" +
        "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n")]
    public void Templates_carried_by_shared_gguf_files_render_as_llama_cpp_formats_them(string vocabulary, string file, bool withSystem, string expected)
    {
        var loaded = Vocabularies.Get(vocabulary);
        using var gguf = GgufFile.Open(loaded.Path);
        var jinja = gguf.Metadata.TryGetString("tokenizer.chat_template");
        Assert.NotNull(jinja);
        var reports = new List<string>();
        var template = ChatTemplate.Create(jinja, loaded.Tokenizer, file, reports.Add);
        Assert.Equal("jinja", template.Name);

        var messages = withSystem ? Conversation : Conversation[1..];
        var formatted = template.Format(messages);
        Assert.Equal(expected, formatted);
        Assert.Equal(LlamaChatTemplates.Apply(jinja, [.. messages.Select(m => (m.Role, m.Content))], addAssistant: true), formatted);
        Assert.Empty(reports);
    }

    [Fact]
    public void Phi_3_is_detected_as_phi3_not_zephyr()
    {
        var phi3 = ChatTemplate.Detect(Template("phi-3.5-mini.jinja"));
        Assert.Same(ChatTemplate.Phi3, phi3);
        Assert.Equal(["<|end|>", "<|user|>"], phi3.StopStrings);
        Assert.Same(ChatTemplate.Zephyr, ChatTemplate.Detect(Template("tinyllama-1.1b-chat.jinja")));
        Assert.Same(ChatTemplate.Gemma, ChatTemplate.Detect(Template("gemma-3.jinja")));
        Assert.Same(ChatTemplate.Llama3, ChatTemplate.Detect(Template("llama-3.2.jinja")));
        Assert.Same(ChatTemplate.ChatMl, ChatTemplate.Detect(Template("qwen2.5.jinja")));
        Assert.Same(ChatTemplate.Llama2, ChatTemplate.Detect(Template("llama-2-chat.jinja")));
        Assert.Same(ChatTemplate.Plain, ChatTemplate.Detect(null));
    }

    /// <summary>
    /// The built-in formats, used for files without a template, as llama.cpp's formats of the same names. Not zephyr,
    /// whose turns end with &lt;/s&gt; here, as Zephyr's and TinyLlama's templates end them, where llama.cpp writes
    /// &lt;|endoftext|&gt;; nor llama2, which puts a space on both sides of a reply, as Llama 2's template does.
    /// </summary>
    [Theory]
    [InlineData("chatml")]
    [InlineData("llama3")]
    [InlineData("phi3")]
    [InlineData("gemma")]
    public void Built_in_formats_match_llama_cpps_of_the_same_name(string name)
    {

        var template = name switch
        {
            "chatml" => ChatTemplate.ChatMl,
            "llama3" => ChatTemplate.Llama3,
            "phi3" => ChatTemplate.Phi3,
            _ => ChatTemplate.Gemma,
        };
        foreach (var messages in new[] { Conversation, Conversation[1..] })
        {
            foreach (bool prompt in new[] { true, false })
            {
                var expected = LlamaChatTemplates.Apply(name, [.. messages.Select(m => (m.Role, m.Content))], prompt);
                Assert.Equal(expected, template.Format(messages, prompt));
            }
        }
    }

    [Fact]
    public void A_template_that_does_not_parse_falls_back_to_its_built_in_format_and_says_so()
    {
        var reports = new List<string>();
        var template = ChatTemplate.Create("{% for m in messages %}<|im_start|>{{ m.role }", Vocabulary("qwen2"), "broken.gguf", reports.Add);
        Assert.Equal("chatml", template.Name);
        Assert.Equal("broken.gguf: its chat template cannot be used (line 1: unexpected '}'); formatting with the built-in chatml format instead", Assert.Single(reports));
        Assert.Equal(ChatTemplate.ChatMl.Format(Conversation), template.Format(Conversation));
    }

    [Fact]
    public void A_template_that_fails_to_render_falls_back_once_and_says_so_once()
    {
        var reports = new List<string>();
        var gemma7b = LlamaCppChatTemplateTests.Cases["google/gemma-7b-it"].Template;
        var template = ChatTemplate.Create(gemma7b, Vocabulary("llama-spm"), "gemma-7b-it.gguf", reports.Add);
        Assert.Equal("jinja", template.Name);

        // Without a system message the model's template renders it.
        Assert.Equal("<start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n", template.Format([new("user", "Hello!")]));
        Assert.Empty(reports);

        // Its template refuses a system message; from then on, the built-in gemma format formats every conversation.
        Assert.Equal(ChatTemplate.Gemma.Format(Conversation), template.Format(Conversation));
        Assert.Equal("gemma-7b-it.gguf: its chat template failed (line 1: System role not supported); formatting with the built-in gemma format from now on",
            Assert.Single(reports));
        Assert.Equal(ChatTemplate.Gemma.Format([new("user", "Hello!")]), template.Format([new("user", "Hello!")]));
        Assert.Single(reports);
    }

    [Fact]
    public void A_template_of_no_known_family_has_no_stop_strings()
    {
        var template = ChatTemplate.Create("{% for m in messages %}### {{ m.role }}: {{ m.content }}\n{% endfor %}### assistant:", Vocabulary("qwen2"), "x.gguf");
        Assert.Equal("jinja", template.Name);
        Assert.Empty(template.StopStrings);
        Assert.Equal("### user: Hello!\n### assistant:", template.Format([new("user", "Hello!")]));
    }
}
