using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using OpenAIChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace ModelGen.Server.Tests;

/// <summary>
/// The endpoints through OpenAI's .NET client and Microsoft.Extensions.AI's IChatClient over it: every reply must be
/// the one the model gives alone (greedy), whole or streamed.
/// </summary>
public sealed class CompletionTests : IAsyncLifetime
{
    private ServerHost _host = null!;

    public async Task InitializeAsync() => _host = await ServerHost.StartAsync(parallel: 4);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static ChatCompletionOptions Greedy(int maxTokens, params string[] stops)
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = maxTokens };
        foreach (var stop in stops)
        {
            options.StopSequences.Add(stop);
        }

        return options;
    }

    [Fact]
    public async Task A_chat_completion_is_the_models_greedy_reply_with_usage_and_finish_reason()
    {
        var expected = Expected.Chat("Tell me a story", 24);
        var completion = (await _host.ChatClient().CompleteChatAsync([new UserChatMessage("Tell me a story")], Greedy(24))).Value;

        Assert.Equal(expected.Text, completion.Content.Single().Text);
        Assert.False(string.IsNullOrWhiteSpace(completion.Content[0].Text));
        Assert.Equal(_host.ModelName, completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(expected.Statistics.GeneratedTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(expected.Statistics.CachedTokens + expected.Statistics.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Equal(expected.Statistics.GeneratedTokens == 24 ? OpenAIChatFinishReason.Length : OpenAIChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public async Task A_streamed_chat_completion_sends_the_same_text_in_pieces_then_the_finish_reason_and_usage()
    {
        var expected = Expected.Chat("Once upon a time", 30);
        var text = new StringBuilder();
        int pieces = 0;
        OpenAIChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in _host.ChatClient().CompleteChatStreamingAsync([new UserChatMessage("Once upon a time")], Greedy(30)))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
                pieces++;
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.True(pieces > 5, $"the reply came in {pieces} pieces, not streamed");
        Assert.NotNull(finish);
        Assert.Equal(expected.Statistics.GeneratedTokens, usage?.OutputTokenCount);
    }

    [Fact]
    public async Task Max_tokens_ends_a_reply_with_finish_reason_length()
    {
        var completion = (await _host.ChatClient().CompleteChatAsync([new UserChatMessage("Hello")], Greedy(5))).Value;
        Assert.Equal(OpenAIChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        Assert.Equal(Expected.Chat("Hello", 5).Text, completion.Content[0].Text);
    }

    [Fact]
    public async Task A_stop_sequence_cuts_the_reply_before_it_with_finish_reason_stop()
    {
        var full = Expected.Chat("Tell me a story", 40).Text;
        var stop = full.Substring(full.Length / 2, 3);
        var completion = (await _host.ChatClient().CompleteChatAsync([new UserChatMessage("Tell me a story")], Greedy(40, stop))).Value;

        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], completion.Content[0].Text);
        Assert.Equal(OpenAIChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.OutputTokenCount < 40);
    }

    [Fact]
    public async Task IChatClient_over_the_OpenAI_client_gets_the_same_replies_whole_and_streamed()
    {
        IChatClient client = _host.ChatClient().AsIChatClient();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 20, StopSequences = [] };
        var expected = Expected.Chat("Why is the sky blue?", 20);

        var response = await client.GetResponseAsync([new AIChatMessage(ChatRole.User, "Why is the sky blue?")], options);
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(expected.Statistics.GeneratedTokens, response.Usage?.OutputTokenCount);
        Assert.Equal(_host.ModelName, response.ModelId);

        var streamed = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync([new AIChatMessage(ChatRole.User, "Why is the sky blue?")], options))
        {
            streamed.Append(update.Text);
        }

        Assert.Equal(expected.Text, streamed.ToString());
    }

    [Fact]
    public async Task The_completions_endpoint_continues_a_prompt_whole_and_streamed()
    {
        var expected = Expected.Completion("The quick brown fox", 12);
        using var response = await _host.Http.PostAsJsonAsync("/v1/completions", new { prompt = "The quick brown fox", max_tokens = 12, temperature = 0 });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(expected, body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("length", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(12, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { prompt = "The quick brown fox", max_tokens = 12, temperature = 0, stream = true }),
        };
        using var streamed = await _host.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType?.MediaType);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToArray();
        Assert.Equal(expected, string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.Equal("length", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Models_and_health_describe_the_server()
    {
        var models = await _host.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Equal(_host.ModelName, models.GetProperty("data").EnumerateArray().Single().GetProperty("id").GetString());

        var health = await _host.HealthAsync();
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(4, health.GetProperty("slots").GetInt32());
        Assert.Equal(16, health.GetProperty("queue_capacity").GetInt32());
    }
}
