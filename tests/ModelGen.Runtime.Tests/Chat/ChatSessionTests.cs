using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Chat;

/// <summary>
/// Conversations on the default model with a small context. Every reply is checked against the same prompt run from
/// an empty cache on a second model, so a wrongly reused cache prefix shows as a different reply.
/// </summary>
public sealed class ChatSessionTests : IDisposable
{
    private const int Context = 128;
    private const string System = "Be brief.";

    private static readonly string DefaultModel = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf");

    private static readonly GenerationOptions Greedy = new() { MaxTokens = 8, Sampling = SamplingOptions.Greedy };

    private readonly GenericModel _model = GenericModel.Load(DefaultModel, new ModelOptions { ContextLength = Context, Threads = 1 });
    private readonly GenericModel _fresh = GenericModel.Load(DefaultModel, new ModelOptions { ContextLength = Context, Threads = 1 });

    public void Dispose()
    {
        _model.Dispose();
        _fresh.Dispose();
    }

    [Fact]
    public void A_full_context_drops_the_oldest_turns_keeps_the_system_prompt_and_replies_as_from_an_empty_cache()
    {
        var session = new ChatSession(_model.Generator, ChatTemplate.Plain, System);
        string[] messages = ["first tell me a story", "second then another one", "third and a last one", "fourth ok thanks", "fifth bye now",
            "sixth one more", "seventh and again", "eighth nearly done", "ninth last of all"];
        var shifts = new List<(ContextShift Shift, string Rendered)>();
        session.ContextShifted += shift => shifts.Add((shift, ChatTemplate.Plain.Format(session.Messages)));
        foreach (var message in messages)
        {
            var reply = string.Concat(session.Send(message, Greedy));
            Assert.Equal(reply.Trim(), session.Messages[^1].Content);
            Assert.Equal(ExpectedReply(session), reply);
        }

        Assert.NotEmpty(shifts);
        var (first, rendered) = shifts[0];
        Assert.True(first.DroppedTurns >= 1);
        Assert.Equal(Context, first.ContextLength);
        Assert.True(first.PromptTokens + Greedy.MaxTokens <= Context, $"{first}");
        Assert.Equal(first.PromptTokens, _fresh.Generator.TokenizePrompt(rendered).Length);

        // The conversation as sent after the shift: the system prompt first, the oldest turn gone, the new message last.
        Assert.StartsWith("System: Be brief.\nUser: ", rendered);
        Assert.DoesNotContain(messages[0], rendered);
        Assert.EndsWith("\nAssistant:", rendered);
        Assert.Equal(("system", System), (session.Messages[0].Role, session.Messages[0].Content));
        Assert.Equal(("user", messages[^1]), (session.Messages[^2].Role, session.Messages[^2].Content));
    }

    [Fact]
    public void A_message_that_cannot_fit_even_alone_is_refused_and_the_conversation_is_kept()
    {
        var session = new ChatSession(_model.Generator, ChatTemplate.Plain, System);
        var first = string.Concat(session.Send("hello there", Greedy));
        var kept = session.Messages.ToList();

        var error = Assert.Throws<PromptTooLongException>(() => string.Concat(session.Send(string.Concat(Enumerable.Repeat("many words ", 100)), Greedy)));
        Assert.True(error.PromptTokens >= Context, $"{error.PromptTokens}");
        Assert.Equal(kept, session.Messages);

        var next = string.Concat(session.Send("and now", Greedy));
        Assert.Equal(ExpectedReply(session), next);
        Assert.Equal(first.Trim(), session.Messages[2].Content);
    }

    [Fact]
    public void A_cancelled_reply_leaves_the_conversation_as_it_was_and_the_session_usable()
    {
        var session = new ChatSession(_model.Generator, ChatTemplate.Plain, System);
        string.Concat(session.Send("hello there", Greedy));
        var kept = session.Messages.ToList();

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => string.Concat(session.Send("never answered", Greedy, cancelled.Token)));
        Assert.Equal(kept, session.Messages);

        // Stopped after its first piece, with the prompt in the cache past what the conversation says.
        using var stop = new CancellationTokenSource();
        var pieces = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var piece in session.Send("a long question about many things", Greedy with { MaxTokens = 32 }, stop.Token))
            {
                pieces++;
                stop.Cancel();
            }
        });
        Assert.Equal(1, pieces);
        Assert.Equal(kept, session.Messages);

        var next = string.Concat(session.Send("and now", Greedy));
        Assert.Equal(ExpectedReply(session), next);
        Assert.Equal(kept.Count + 2, session.Messages.Count);
    }

    [Fact]
    public void Interleaved_sessions_on_one_model_reuse_only_their_shared_prefix_and_reply_as_from_an_empty_cache()
    {
        var first = new ChatSession(_model.Generator, ChatTemplate.Plain, System);
        var second = new ChatSession(_model.Generator, ChatTemplate.Plain, "Be long.");
        // Each turn follows the other session's, which is the same text up to the system prompts' second word.
        var systemLine = _fresh.Generator.TokenizePrompt($"System: {System}\n").Length;
        var cached = new List<int>();
        foreach (var message in new[] { "hello there", "and more", "one last thing" })
        {
            foreach (var session in new[] { first, second })
            {
                var prompt = _fresh.Generator.TokenizePrompt(ChatTemplate.Plain.Format([.. session.Messages, new("user", message)]));
                var reply = string.Concat(session.Send(message, Greedy));
                Assert.Equal(ExpectedReply(session), reply);
                var stats = _model.Generator.Statistics;
                Assert.Equal(prompt.Length, stats.CachedTokens + stats.PromptTokens);
                cached.Add(stats.CachedTokens);
            }
        }

        Assert.Equal(0, cached[0]);
        Assert.All(cached.Skip(1), c => Assert.InRange(c, 1, systemLine - 2));
    }

    [Fact]
    public void Clear_keeps_only_the_system_prompt_and_the_next_reply_is_the_first_reply_again()
    {
        var session = new ChatSession(_model.Generator, ChatTemplate.Plain, System);
        var first = string.Concat(session.Send("hello there", Greedy));
        string.Concat(session.Send("and more", Greedy));

        session.Clear();
        Assert.Equal([new ChatMessage("system", System)], session.Messages);
        Assert.Equal(first, string.Concat(session.Send("hello there", Greedy)));
        Assert.Equal([new("system", System), new("user", "hello there"), new("assistant", first.Trim())], session.Messages);
    }

    /// <summary>
    /// The reply that ends <paramref name="session"/>'s conversation, generated again on another model from an empty
    /// cache, from the conversation before it.
    /// </summary>
    private string ExpectedReply(ChatSession session)
    {
        var before = session.Messages.Take(session.Messages.Count - 1).ToList();
        var prompt = _fresh.Generator.TokenizePrompt(ChatTemplate.Plain.Format(before));
        var options = Greedy with { StopStrings = ChatTemplate.Plain.StopStrings };
        _fresh.Generator.ForgetCache();
        return string.Concat(_fresh.Generator.Generate(prompt, options));
    }
}
