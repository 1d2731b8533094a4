using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Generation;

/// <summary>Generations on one model share its KV cache, so they must run one at a time, whoever starts them.</summary>
public sealed class ConcurrentGenerationTests
{
    private static readonly string DefaultModel = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf");

    private static readonly string[] Prompts = ["Once upon a time", "The quick brown fox", "In the beginning", "Hello there, friend"];

    private static readonly GenerationOptions Greedy = new() { MaxTokens = 24, Sampling = SamplingOptions.Greedy };

    /// <summary>Generous: a hang is the failure this bound catches, not slowness.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Twenty_concurrent_GenerateAsync_calls_each_give_the_sequential_output(int threads)
    {
        using var model = GenericModel.Load(DefaultModel, new ModelOptions { Threads = threads, ContextLength = 128 });
        var expected = Prompts.Select(p => string.Concat(model.Generator.Generate(p, Greedy))).ToArray();
        Assert.Equal(Prompts.Length, expected.Distinct().Count());
        Assert.All(expected, text => Assert.False(string.IsNullOrEmpty(text)));

        var calls = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            var text = new System.Text.StringBuilder();
            await foreach (var piece in model.GenerateAsync(Prompts[i % Prompts.Length], Greedy))
            {
                text.Append(piece);
            }

            return text.ToString();
        })).ToArray();
        var outputs = await Task.WhenAll(calls).WaitAsync(Timeout);

        for (int i = 0; i < outputs.Length; i++)
        {
            Assert.Equal(expected[i % Prompts.Length], outputs[i]);
        }
    }

    [Fact]
    public async Task GenerateAsync_waits_for_an_unfinished_enumeration_until_it_is_disposed_or_the_wait_is_cancelled()
    {
        using var model = GenericModel.Load(DefaultModel, new ModelOptions { Threads = 1, ContextLength = 128 });
        var expected = string.Concat(model.Generator.Generate(Prompts[1], Greedy));

        var holder = model.Generator.Generate(Prompts[0], Greedy).GetEnumerator();
        Assert.True(holder.MoveNext());

        // Running, the first step would complete at once with a piece (the pause after it comes later): pending, it waits.
        using var cancellation = new CancellationTokenSource();
        var cancelled = model.GenerateAsync(Prompts[1], Greedy, cancellation.Token).GetAsyncEnumerator();
        var cancelledStep = cancelled.MoveNextAsync().AsTask();
        Assert.False(cancelledStep.IsCompleted);
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelledStep.WaitAsync(Timeout));
        await cancelled.DisposeAsync();

        var waiter = model.GenerateAsync(Prompts[1], Greedy).GetAsyncEnumerator();
        var firstStep = waiter.MoveNextAsync().AsTask();
        Assert.False(firstStep.IsCompleted);
        holder.Dispose();

        var text = new System.Text.StringBuilder();
        for (bool more = await firstStep.WaitAsync(Timeout); more; more = await waiter.MoveNextAsync())
        {
            text.Append(waiter.Current);
        }

        await waiter.DisposeAsync();
        Assert.Equal(expected, text.ToString());
    }

    [Fact]
    public void Generate_refuses_to_start_while_another_generation_is_unfinished_and_runs_once_it_is_disposed()
    {
        using var model = GenericModel.Load(DefaultModel, new ModelOptions { Threads = 1, ContextLength = 128 });
        var expected = string.Concat(model.Generator.Generate(Prompts[2], Greedy));

        using (var holder = model.Generator.Generate(Prompts[0], Greedy).GetEnumerator())
        {
            Assert.True(holder.MoveNext());
            var error = Assert.Throws<InvalidOperationException>(() => string.Concat(model.Generator.Generate(Prompts[2], Greedy)));
            Assert.Contains("another generation on this model is in progress", error.Message);
            var tokens = model.Generator.TokenizePrompt(Prompts[2]);
            Assert.Throws<InvalidOperationException>(() => model.Generator.Generate(tokens, Greedy).GetEnumerator().MoveNext());
        }

        Assert.Equal(expected, string.Concat(model.Generator.Generate(Prompts[2], Greedy)));
    }
}
