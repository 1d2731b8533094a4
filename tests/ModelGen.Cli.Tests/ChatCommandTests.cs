using ModelGen.Gguf;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>
/// <c>modelgen chat</c> with its input redirected, each line as typed. Replies are compared with a
/// <see cref="ChatSession"/> on the same model fed the messages the input should make.
/// </summary>
public sealed class ChatCommandTests
{
    /// <summary>The random-weight model: its replies never end early, so every turn fills the context as planned.</summary>
    private static readonly string Model = SharedData.TinyModel;

    [Fact]
    public void Blank_lines_are_ignored_and_clear_and_exit_are_commands_not_messages()
    {
        var run = CliRunner.RunWithInput("\n   \nHello there\n/clear\n\nHello there\n/help\n/exit\nNever sent\n", "chat", Model, "-n", "8", "--temp", "0", "-c", "128");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("modelgen: conversation cleared", run.StdErr);
        Assert.Contains("/clear   forget the conversation", run.StdErr);

        // Cleared, the second "Hello there" opens a new conversation: the same reply as the first.
        var first = Replies(128, 8, "Hello there");
        Assert.Equal(first + first, run.StdOut);
    }

    [Fact]
    public void Continued_lines_and_fenced_blocks_are_one_message_and_a_double_slash_sends_a_slash()
    {
        const string input = "Tell me \\\nabout \\\ncats\n\"\"\"\nA pasted paragraph\n\n/exit is text here\n  \"\"\"  \n//slash message\n/nonsense\n";
        var run = CliRunner.RunWithInput(input, "chat", Model, "-n", "8", "--temp", "0", "-c", "256");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("modelgen: unknown command /nonsense; /help lists the commands, and //nonsense sends \"/nonsense\" as a message", run.StdErr);
        Assert.Equal(Replies(256, 8, "Tell me \nabout \ncats", "A pasted paragraph\n\n/exit is text here", "/slash message"), run.StdOut);
    }

    [Fact]
    public void A_full_context_drops_the_oldest_turns_with_a_notice_and_the_session_goes_on()
    {
        string[] messages = ["Hello there", "Tell me a story", "What happened next", "And then", "How did it end", "Thank you"];
        var run = CliRunner.RunWithInput(string.Join('\n', messages) + "\n", "chat", Model, "-n", "8", "--temp", "0", "-c", "64", "--system", "Be brief.");

        Assert.Equal(0, run.ExitCode);
        var notices = run.StdErr.Split('\n').Where(line => line.StartsWith("modelgen: context full: dropped the oldest ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(notices);
        Assert.All(notices, notice =>
        {
            Assert.Contains(" turn(s), kept the system prompt; the conversation is now ", notice);
            Assert.EndsWith(" of 64 tokens", notice);
        });
        Assert.Equal(RepliesWithSystem(64, 8, "Be brief.", messages), run.StdOut);
    }

    [Fact]
    public void A_message_too_long_for_the_context_is_refused_in_one_line_and_the_session_goes_on()
    {
        var tooLong = string.Concat(Enumerable.Repeat("many words ", 60));
        var run = CliRunner.RunWithInput($"{tooLong}\nHello there\n", "chat", Model, "-n", "8", "--temp", "0", "-c", "64");

        Assert.Equal(0, run.ExitCode);
        var refusal = Assert.Single(run.StdErr.Split('\n'), line => line.Contains("does not fit", StringComparison.Ordinal));
        Assert.StartsWith("modelgen: this message does not fit in the context even without earlier turns (", refusal);
        Assert.EndsWith("the context holds 64): shorten it or raise -c", refusal);
        Assert.Equal(Replies(64, 8, "Hello there"), run.StdOut);
    }

    [Fact]
    public void A_model_with_a_chat_template_is_prompted_through_it()
    {
        const string ChatMl = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-chatml-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");
        try
        {
            GgufVariant.WithValue(Model, path, "tokenizer.chat_template", GgufValue.Of(ChatMl));
            var run = CliRunner.RunWithInput("Hello there\nAnd then\n", "chat", path, "-n", "8", "--temp", "0", "-c", "128", "--system", "Be brief.");

            Assert.Equal(0, run.ExitCode);
            Assert.Contains("modelgen: chat template jinja; ", run.StdErr);
            Assert.DoesNotContain("built-in", run.StdErr);
            using var model = GenericModel.Load(path, new ModelOptions { ContextLength = 128 });
            var template = ChatTemplate.Create(ChatMl, model.Tokenizer, Path.GetFileName(path));
            Assert.Equal(Replies(model, template, 8, "Be brief.", "Hello there", "And then"), run.StdOut);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_chat_template_that_fails_is_reported_once_escaped_and_the_built_in_format_takes_over()
    {
        // ChatML's markers, so the fallback is chatml; the template refuses every conversation, in words meant for a terminal.
        const string Refusing = "<|im_start|>{{ raise_exception('no\x1b[2J') }}";
        var path = Path.Combine(Path.GetTempPath(), $"modelgen-refusing-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");
        try
        {
            GgufVariant.WithValue(Model, path, "tokenizer.chat_template", GgufValue.Of(Refusing));
            var run = CliRunner.RunWithInput("Hello there\nAnd then\n", "chat", path, "-n", "8", "--temp", "0", "-c", "128");

            Assert.Equal(0, run.ExitCode);
            var notice = Assert.Single(run.StdErr.Split('\n'), line => line.Contains("chat template failed", StringComparison.Ordinal));
            Assert.Equal($"modelgen: {Path.GetFileName(path)}: its chat template failed (line 1: no\\x1b[2J); formatting with the built-in chatml format from now on", notice);
            Assert.DoesNotContain('\x1b', run.StdErr);
            using var model = GenericModel.Load(path, new ModelOptions { ContextLength = 128 });
            Assert.Equal(Replies(model, ChatTemplate.ChatMl, 8, null, "Hello there", "And then"), run.StdOut);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string Replies(GenericModel model, ChatTemplate template, int maxTokens, string? system, params string[] messages)
    {
        var session = new ChatSession(model.Generator, template, system);
        var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy };
        return string.Concat(messages.Select(m => string.Concat(session.Send(m, options)) + "\n"));
    }

    /// <summary>What chat writes to a redirected stdout for <paramref name="messages"/>: each reply and a line break.</summary>
    private static string Replies(int context, int maxTokens, params string[] messages) => RepliesWithSystem(context, maxTokens, null, messages);

    private static string RepliesWithSystem(int context, int maxTokens, string? system, params string[] messages)
    {
        using var model = GenericModel.Load(Model, new ModelOptions { ContextLength = context });
        var session = new ChatSession(model.Generator, ChatTemplate.Plain, system);
        var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy };
        return string.Concat(messages.Select(m => string.Concat(session.Send(m, options)) + "\n"));
    }
}
