using Microsoft.Extensions.AI;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using TemplateMessage = ModelGen.Runtime.Chat.ChatMessage;

namespace ModelGen.Extensions.AI.Tests;

/// <summary>
/// The chat client on the default model (random weights: gibberish, but deterministic). Replies are checked against
/// the same conversation rendered by hand and run through the generator of a second model from an empty cache.
/// </summary>
public sealed class ChatClientTests : IDisposable
{
    private const int Context = 256;

    internal static readonly string DefaultModel = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf");

    private static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 12 };

    private static readonly List<AIChatMessage> Conversation = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "hello there")];

    private readonly GenericModel _model = GenericModel.Load(DefaultModel, new ModelOptions { ContextLength = Context, Threads = 1 });
    private readonly GenericModel _fresh = GenericModel.Load(DefaultModel, new ModelOptions { ContextLength = Context, Threads = 1 });

    public void Dispose()
    {
        _model.Dispose();
        _fresh.Dispose();
    }

    [Fact]
    public async Task A_greedy_response_is_the_generators_text_for_the_rendered_conversation_with_real_usage()
    {
        var response = await _model.AsChatClient().GetResponseAsync(Conversation, Greedy);

        var (expected, stats, promptTokens) = Cold(Conversation, 12, SamplingOptions.Greedy);
        Assert.Equal(expected, response.Text);
        var message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal(_model.Name, response.ModelId);
        Assert.False(string.IsNullOrEmpty(response.ResponseId));
        Assert.False(string.IsNullOrEmpty(message.MessageId));
        Assert.InRange(response.CreatedAt!.Value, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
        Assert.Equal(promptTokens, response.Usage!.InputTokenCount);
        Assert.Equal(stats.GeneratedTokens, response.Usage.OutputTokenCount);
        Assert.Equal(promptTokens + stats.GeneratedTokens, response.Usage.TotalTokenCount);
        Assert.Equal(0, response.Usage.CachedInputTokenCount);
        Assert.Equal(12, stats.GeneratedTokens);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task Streaming_gives_the_same_text_piece_by_piece_and_ends_with_the_finish_reason_and_usage()
    {
        var client = _model.AsChatClient();
        var whole = await client.GetResponseAsync(Conversation, Greedy);
        var updates = await client.GetStreamingResponseAsync(Conversation, Greedy).ToListAsync();

        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, $"{updates.Count} updates");
        Assert.All(updates, u => Assert.Equal((ChatRole.Assistant, updates[0].ResponseId, updates[0].MessageId, _model.Name), (u.Role!.Value, u.ResponseId, u.MessageId, u.ModelId)));
        Assert.NotEqual(whole.ResponseId, updates[0].ResponseId);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents)).Details;
        Assert.Equal((whole.Usage!.InputTokenCount, whole.Usage.OutputTokenCount), (usage.InputTokenCount, usage.OutputTokenCount));

        var coalesced = updates.ToChatResponse();
        Assert.Equal((whole.Text, ChatFinishReason.Length, 12L), (coalesced.Text, coalesced.FinishReason, coalesced.Usage!.OutputTokenCount));
    }

    [Fact]
    public async Task MaxOutputTokens_limits_the_reply_and_a_stop_sequence_ends_it_before_itself()
    {
        var client = _model.AsChatClient();
        var limited = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 3 });
        Assert.Equal((3L, ChatFinishReason.Length), (limited.Usage!.OutputTokenCount, limited.FinishReason));
        var longer = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 24 });
        Assert.StartsWith(limited.Text, longer.Text);
        Assert.True(longer.Text.Length > limited.Text.Length + 4, longer.Text);

        var stop = longer.Text.Substring(longer.Text.Length / 2, 3);
        var stopped = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 24, StopSequences = [stop] });
        Assert.Equal(longer.Text[..longer.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task A_seed_makes_sampling_reproducible_and_the_sampling_options_reach_the_sampler()
    {
        var client = _model.AsChatClient();
        var seeded = new ChatOptions { Temperature = 1.5f, TopK = 0, TopP = 1, Seed = 42, MaxOutputTokens = 16, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f };
        var first = await client.GetResponseAsync(Conversation, seeded);
        var again = await client.GetResponseAsync(Conversation, seeded);
        var otherSeed = await client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 1.5f, TopK = 0, TopP = 1, Seed = 43, MaxOutputTokens = 16 });

        var sampling = new SamplingOptions { Temperature = 1.5f, TopK = 0, TopP = 1, Seed = 42, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f };
        Assert.Equal(Cold(Conversation, 16, sampling).Text, first.Text);
        Assert.Equal(first.Text, again.Text);
        Assert.NotEqual(first.Text, otherSeed.Text);
    }

    [Fact]
    public async Task A_continued_conversation_runs_only_its_new_tokens_even_after_another_conversation_ran_between()
    {
        var client = _model.AsChatClient();
        var first = await client.GetResponseAsync(Conversation, Greedy);
        List<AIChatMessage> continued = [.. Conversation, .. first.Messages, new(ChatRole.User, "and then what")];

        var second = await client.GetResponseAsync(continued, Greedy);
        var (expected, _, promptTokens) = Cold(continued, 12, SamplingOptions.Greedy);
        Assert.Equal(expected, second.Text);
        Assert.Equal(promptTokens, second.Usage!.InputTokenCount);
        // All of the first turn's prompt, and of its reply as far as the reply's text tokenizes to the tokens sampled
        // (not always: sampling need not pick the tokenizer's split), but never its last token, which was never run.
        long cacheHeld = first.Usage!.InputTokenCount!.Value + first.Usage.OutputTokenCount!.Value - 1;
        Assert.InRange(second.Usage.CachedInputTokenCount!.Value, first.Usage.InputTokenCount.Value, cacheHeld);
        Assert.Equal(promptTokens - second.Usage.CachedInputTokenCount.Value, _model.Generator.Statistics.PromptTokens);

        // Another conversation in between shares only the first tokens, and the third turn is still right.
        await client.GetResponseAsync([new(ChatRole.User, "something else entirely")], Greedy);
        List<AIChatMessage> third = [.. continued, .. second.Messages, new(ChatRole.User, "go on")];
        var reply = await client.GetResponseAsync(third, Greedy);
        Assert.Equal(Cold(third, 12, SamplingOptions.Greedy).Text, reply.Text);
        Assert.InRange(reply.Usage!.CachedInputTokenCount!.Value, 1, 4);
    }

    [Fact]
    public async Task A_reply_cancelled_mid_stream_throws_and_the_next_call_replies_as_from_an_empty_cache()
    {
        var client = _model.AsChatClient();
        using var cancellation = new CancellationTokenSource();
        int pieces = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 64 }, cancellation.Token))
            {
                pieces++;
                await cancellation.CancelAsync();
            }
        });
        Assert.Equal(1, pieces);
        Assert.Equal(GenerationStopReason.Cancelled, _model.Generator.Statistics.StopReason);

        List<AIChatMessage> other = [new(ChatRole.User, "hello there, how are you")];
        var response = await client.GetResponseAsync(other, Greedy);
        Assert.Equal(Cold(other, 12, SamplingOptions.Greedy).Text, response.Text);
    }

    [Fact]
    public async Task Concurrent_calls_take_turns_on_the_one_cache_and_each_reports_its_own_usage()
    {
        var client = _model.AsChatClient();
        List<AIChatMessage> other = [new(ChatRole.User, "something else entirely, and at length")];
        var calls = Enumerable.Range(0, 6).Select(i => Task.Run(() => i % 2 == 0
            ? client.GetResponseAsync(Conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 5 })
            : client.GetResponseAsync(other, new ChatOptions { Temperature = 0, MaxOutputTokens = 9 }))).ToList();
        var responses = await Task.WhenAll(calls);

        var (conversationReply, _, conversationTokens) = Cold(Conversation, 5, SamplingOptions.Greedy);
        var (otherReply, _, otherTokens) = Cold(other, 9, SamplingOptions.Greedy);
        for (int i = 0; i < responses.Length; i++)
        {
            var (text, input, output) = i % 2 == 0 ? (conversationReply, conversationTokens, 5) : (otherReply, otherTokens, 9);
            Assert.Equal((text, (long)input, (long)output), (responses[i].Text, responses[i].Usage!.InputTokenCount!.Value, responses[i].Usage!.OutputTokenCount!.Value));
        }
    }

    public static TheoryData<ChatOptions, string> OutOfRange => new()
    {
        { new ChatOptions { Temperature = -0.5f }, "Temperature" },
        { new ChatOptions { Temperature = float.NaN }, "Temperature" },
        { new ChatOptions { TopP = 1.5f }, "TopP" },
        { new ChatOptions { TopK = -1 }, "TopK" },
        { new ChatOptions { MaxOutputTokens = 0 }, "MaxOutputTokens" },
        { new ChatOptions { FrequencyPenalty = 2.5f }, "FrequencyPenalty" },
        { new ChatOptions { PresencePenalty = -3 }, "PresencePenalty" },
        { new ChatOptions { Seed = 1L << 40 }, "Seed" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public async Task An_option_out_of_range_is_refused_by_name_before_anything_runs(ChatOptions options, string name)
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _model.AsChatClient().GetResponseAsync(Conversation, options));
        Assert.Equal($"options.{name}", error.ParamName);
        Assert.Contains($"ChatOptions.{name}", error.Message);
        Assert.Equal(GenerationStopReason.None, _model.Generator.Statistics.StopReason);
    }

    [Fact]
    public async Task Tools_and_content_other_than_text_are_refused()
    {
        var client = _model.AsChatClient();
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 42, "answer")] };
        Assert.Contains("tools", (await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(Conversation, tools))).Message);

        AIChatMessage image = new(ChatRole.User, [new TextContent("what is this?"), new DataContent(new byte[] { 1, 2, 3 }, "image/png")]);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([image], Greedy));
        Assert.Contains("DataContent", error.Message);
    }

    [Fact]
    public async Task Instructions_are_a_system_message_before_the_conversation()
    {
        var response = await _model.AsChatClient().GetResponseAsync([new(ChatRole.User, "hello there")],
            new ChatOptions { Temperature = 0, MaxOutputTokens = 12, Instructions = "Be brief." });
        Assert.Equal(Cold(Conversation, 12, SamplingOptions.Greedy).Text, response.Text);
    }

    [Fact]
    public void GetService_gives_the_metadata_and_the_model()
    {
        var client = _model.AsChatClient();
        var metadata = client.GetService<ChatClientMetadata>()!;
        Assert.Equal(("modelgen", _model.Name), (metadata.ProviderName, metadata.DefaultModelId));
        Assert.Same(_model, client.GetService<GenericModel>());
        Assert.Same(_model, client.GetService<ILanguageModel>());
        Assert.Same(client, client.GetService<IChatClient>());
        Assert.Null(client.GetService<GenericModel>("key"));
        Assert.Null(client.GetService<string>());
    }

    /// <summary>
    /// <paramref name="messages"/> rendered by hand with the plain template (the default model has none) and run on the
    /// second model from an empty cache: the reply, its statistics, and the prompt's length.
    /// </summary>
    private (string Text, GenerationStatistics Stats, int PromptTokens) Cold(IEnumerable<AIChatMessage> messages, int maxTokens, SamplingOptions sampling)
    {
        Assert.Null(_fresh.ChatTemplate);
        var rendered = ChatTemplate.Plain.Format([.. messages.Select(m => new TemplateMessage(m.Role.Value, m.Text))]);
        var prompt = _fresh.Generator.TokenizePrompt(rendered);
        _fresh.Generator.ForgetCache();
        var options = new GenerationOptions { MaxTokens = maxTokens, Sampling = sampling, StopStrings = ChatTemplate.Plain.StopStrings };
        var text = string.Concat(_fresh.Generator.Generate(prompt, options));
        return (text, _fresh.Generator.Statistics, prompt.Length);
    }
}
