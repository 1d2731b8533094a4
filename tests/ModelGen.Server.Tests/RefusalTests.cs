using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;

namespace ModelGen.Server.Tests;

/// <summary>What the server refuses, and how: a status code and OpenAI's error shape, never a hang.</summary>
public sealed class RefusalTests
{
    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _), "error.param and error.code are always there");
        return error;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task With_an_api_key_a_request_without_the_bearer_token_or_with_another_gets_401()
    {
        await using var host = await ServerHost.StartAsync(parallel: 1, apiKey: "s3cret");
        using (var response = await host.Http.GetAsync("/v1/models"))
        {
            var error = await ErrorOf(response, HttpStatusCode.Unauthorized);
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        }

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => host.ChatClient("wrong").CompleteChatAsync([new UserChatMessage("Hi")]));
        Assert.Equal(401, refused.Status);

        var completion = (await host.ChatClient("s3cret").CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { MaxOutputTokenCount = 3 })).Value;
        Assert.Equal(3, completion.Usage.OutputTokenCount);

        // The page and the health check stay open: the page asks for the key itself.
        using var page = await host.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using var health = await host.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData("{\"messages\": [", null)]
    [InlineData("not json", null)]
    [InlineData("{}", "messages")]
    [InlineData("{\"messages\": []}", "messages")]
    [InlineData("{\"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": 7}]}", "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"temperature\": 3}", "temperature")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_p\": -0.1}", "top_p")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 0}", "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 2}", "n")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": [\"\"]}", "stop")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stop\": 5}", "stop")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": \"many\"}", null)]
    public async Task A_malformed_chat_body_gets_400_naming_the_field(string body, string? param)
    {
        await using var host = await ServerHost.StartAsync(parallel: 1);
        using var response = await host.Http.PostAsync("/v1/chat/completions", Json(body));
        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task A_body_sent_as_something_other_than_json_and_an_unknown_path_are_refused()
    {
        await using var host = await ServerHost.StartAsync(parallel: 1);
        using (var response = await host.Http.PostAsync("/v1/completions", new StringContent("{\"prompt\": \"hi\"}", Encoding.UTF8, "text/plain")))
        {
            await ErrorOf(response, HttpStatusCode.BadRequest);
        }

        using (var response = await host.Http.PostAsync("/v1/completions", Json("{\"prompt\": \"\"}")))
        {
            Assert.Equal("prompt", (await ErrorOf(response, HttpStatusCode.BadRequest)).GetProperty("param").GetString());
        }

        using (var response = await host.Http.GetAsync("/v1/embeddings"))
        {
            await ErrorOf(response, HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_gets_400_context_length_exceeded()
    {
        await using var host = await ServerHost.StartAsync(parallel: 1);
        var tooLong = string.Join(' ', Enumerable.Repeat("word", ServerHost.Context * 2));
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => host.ChatClient().CompleteChatAsync([new UserChatMessage(tooLong)]));
        Assert.Equal(400, refused.Status);

        using var response = await host.Http.PostAsJsonAsync("/v1/completions", new { prompt = tooLong });
        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        Assert.Contains($"the context holds {ServerHost.Context}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_frees_its_slot_at_once()
    {
        // 30 ms a step: filling the context would take seconds, so a slot freed well before was freed by the disconnect.
        await using var host = await ServerHost.StartAsync(parallel: 1, stepDelay: TimeSpan.FromMilliseconds(30), endless: true);
        int updates = 0;
        await foreach (var update in host.ChatClient().CompleteChatStreamingAsync([new UserChatMessage("Tell me a long story")]))
        {
            if (update.ContentUpdate.Count > 0 && ++updates == 3)
            {
                break;
            }
        }

        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(10));
        int forwards = host.ForwardCalls;
        Assert.InRange(forwards, 3, Expected.StepsToFillContext("Tell me a long story") - 20);
        await Task.Delay(200);
        Assert.Equal(forwards, host.ForwardCalls);

        // The freed slot serves the next client.
        var next = (await host.ChatClient().CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 })).Value;
        Assert.Equal(2, next.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task When_every_slot_is_busy_and_the_queue_full_a_request_gets_429_at_once()
    {
        await using var host = await ServerHost.StartAsync(parallel: 1, queue: 1, stepDelay: TimeSpan.FromMilliseconds(20), endless: true);
        using var running = new CancellationTokenSource();
        var client = host.ChatClient();
        // One request runs and one waits; both would take seconds.
        var first = client.CompleteChatStreamingAsync([new UserChatMessage("Tell me a long story")], cancellationToken: running.Token).GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());
        var waiting = client.CompleteChatAsync([new UserChatMessage("And another")], cancellationToken: running.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await host.HealthAsync()).GetProperty("queued").GetInt32() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the second request never queued");
            await Task.Delay(10);
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        using (var response = await host.Http.PostAsJsonAsync("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "Hi" } } }))
        {
            var error = await ErrorOf(response, HttpStatusCode.TooManyRequests);
            Assert.Equal("server_busy", error.GetProperty("code").GetString());
        }

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("Hi")]));
        Assert.Equal(429, refused.Status);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"refusing took {started.Elapsed}");

        await running.CancelAsync();
        await first.DisposeAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, (await host.HealthAsync()).GetProperty("queued").GetInt32());
    }
}
