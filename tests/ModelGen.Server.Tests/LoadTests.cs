using OpenAI.Chat;

namespace ModelGen.Server.Tests;

/// <summary>A bounded load: clients that together keep every slot busy and the queue full, none refused or wrong.</summary>
public sealed class LoadTests
{
    private static readonly string[] Messages = ["Tell me a story", "Hello", "What is the weather like?", "Once upon a time"];

    [Fact]
    public async Task Eight_clients_times_twenty_requests_all_succeed_with_the_replies_they_get_alone()
    {
        const int Clients = 8, Requests = 20, MaxTokens = 8;
        var expected = Messages.Select(m => Expected.Chat(m, MaxTokens).Text).ToArray();
        // 4 slots and 4 queued: the 8 clients never exceed what the server takes.
        await using var host = await ServerHost.StartAsync(parallel: 4, queue: Clients - 4);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var client = host.ChatClient();
            var failures = new List<string>();
            for (int r = 0; r < Requests; r++)
            {
                int m = (c + r) % Messages.Length;
                var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = MaxTokens };
                var reply = (await client.CompleteChatAsync([new UserChatMessage(Messages[m])], options)).Value.Content[0].Text;
                if (reply != expected[m])
                {
                    failures.Add($"client {c} request {r}: '{reply}' instead of '{expected[m]}'");
                }
            }

            return failures;
        })).ToArray();

        var failures = (await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(3))).SelectMany(f => f).ToList();
        Assert.Empty(failures);
        Assert.True(started.Elapsed < TimeSpan.FromMinutes(3));
        // Alone, a request takes MaxTokens + 1 forward passes (its prompt, then each token sampled): batched, fewer.
        Assert.InRange(host.ForwardCalls, 1, Clients * Requests * (MaxTokens + 1) * 3 / 4);
        var health = await host.HealthAsync();
        Assert.Equal(0, health.GetProperty("slots_busy").GetInt32());
        Assert.Equal(0, health.GetProperty("queued").GetInt32());
    }
}
