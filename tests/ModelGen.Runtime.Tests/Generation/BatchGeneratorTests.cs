using System.Text;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Runtime.Tests.Generation;

/// <summary>
/// Continuous batching is correct when batching changes nothing: every request's text, greedy or seeded, is the one
/// <see cref="TextGenerator"/> gives it alone, however many others share its steps.
/// </summary>
public sealed class BatchGeneratorTests
{
    private static readonly string[] Prompts =
        ["Once upon a time", "The quick brown fox jumps over the lazy dog", "In the beginning", "Hello there, friend", "A", "Why is the sky blue? Because"];

    /// <summary>Generous: a hang is the failure this bound catches, not slowness.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private const int Context = 128;

    private static GenericModel Load(int sequences) =>
        GenericModel.Load(SharedData.TinyModel, new ModelOptions { Threads = 1, ContextLength = Context, Sequences = sequences });

    private static GenerationOptions Options(int maxTokens, int? seed = null, params string[] stops) => new()
    {
        MaxTokens = maxTokens,
        Sampling = seed is null ? SamplingOptions.Greedy : new SamplingOptions { Seed = seed, Temperature = 0.9f, RepetitionPenalty = 1.1f },
        StopStrings = stops,
    };

    /// <summary>What each prompt gives alone, through TextGenerator on a model of one sequence.</summary>
    private static (string Text, GenerationStopReason Reason)[] Alone(IReadOnlyList<(int[] Prompt, GenerationOptions Options)> requests)
    {
        using var model = Load(1);
        return [.. requests.Select(r =>
        {
            var text = string.Concat(model.Generator.Generate(r.Prompt, r.Options));
            return (text, model.Generator.Statistics.StopReason);
        })];
    }

    private static async Task<string> ReadAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        await foreach (var piece in request.ReadAllAsync(cancellationToken))
        {
            text.Append(piece);
        }

        return text.ToString();
    }

    [Theory]
    [InlineData(null)]
    [InlineData(42)]
    public async Task With_one_sequence_each_request_gives_TextGenerators_text(int? seed)
    {
        using var model = Load(1);
        var requests = Prompts.Select((p, i) => (model.Generator.TokenizePrompt(p), Options(8 + 5 * i, seed))).ToArray();
        var expected = Alone(requests);

        using var generator = new BatchGenerator(model, model.Tokenizer, queueCapacity: Prompts.Length);
        var submitted = requests.Select(r => generator.Submit(r.Item1, r.Item2)).ToArray();
        var texts = await Task.WhenAll(submitted.Select(r => ReadAsync(r))).WaitAsync(Timeout);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(expected[i].Text, texts[i]);
            Assert.Equal(expected[i].Reason, submitted[i].Statistics.StopReason);
        }

        Assert.Contains(texts, t => t.Length > 20);
    }

    [Theory]
    [InlineData(2, null)]
    [InlineData(4, null)]
    [InlineData(4, 7)]
    public async Task With_several_sequences_each_request_gives_its_text_alone(int sequences, int? seed)
    {
        using var model = Load(sequences);
        // Prompts of different lengths and limits, so that sequences start, prefill and end at different steps.
        var requests = Enumerable.Range(0, 10)
            .Select(i => (model.Generator.TokenizePrompt(Prompts[i % Prompts.Length]), Options(4 + 7 * i % 40, seed is null ? null : seed + i)))
            .ToArray();
        var expected = Alone(requests);
        Assert.True(expected.Select(e => e.Text).Distinct().Count() >= Prompts.Length, "the requests should differ");

        using var generator = new BatchGenerator(model, model.Tokenizer, queueCapacity: requests.Length);
        var submitted = requests.Select(r => generator.Submit(r.Item1, r.Item2)).ToArray();
        var texts = await Task.WhenAll(submitted.Select(r => ReadAsync(r))).WaitAsync(Timeout);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(expected[i].Text, texts[i]);
            Assert.Equal(expected[i].Reason, submitted[i].Statistics.StopReason);
        }

        Assert.Contains(submitted, r => r.Statistics.StopReason == GenerationStopReason.TokenLimit);
    }

    [Fact]
    public async Task Stop_strings_and_the_context_end_a_request_as_they_end_TextGenerator()
    {
        using var model = Load(2);
        var prompt = model.Generator.TokenizePrompt(Prompts[1]);
        var full = Alone([(prompt, Options(40))])[0].Text;
        var stop = full.Substring(full.Length / 2, 3);
        var untilContextFull = Options(-1);
        var requests = new[] { (prompt, Options(40, null, stop)), (prompt, untilContextFull) };
        var expected = Alone(requests);
        Assert.Equal(GenerationStopReason.StopString, expected[0].Reason);
        Assert.Equal(GenerationStopReason.ContextFull, expected[1].Reason);

        using var generator = new BatchGenerator(model, model.Tokenizer, queueCapacity: 0);
        var submitted = requests.Select(r => generator.Submit(r.Item1, r.Item2)).ToArray();
        var texts = await Task.WhenAll(submitted.Select(r => ReadAsync(r))).WaitAsync(Timeout);
        Assert.Equal(expected[0].Text, texts[0]);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], texts[0]);
        Assert.Equal(GenerationStopReason.StopString, submitted[0].Statistics.StopReason);
        Assert.Equal(expected[1].Text, texts[1]);
        Assert.Equal(GenerationStopReason.ContextFull, submitted[1].Statistics.StopReason);
        Assert.Equal(Context - prompt.Length, submitted[1].Statistics.GeneratedTokens);
    }

    [Fact]
    public async Task A_full_queue_refuses_and_a_cancelled_request_frees_its_slot_at_once()
    {
        using var model = Load(1);
        // 10 ms a step: the running request would take over a second to fill the context, so it is still running when left.
        using var generator = new BatchGenerator(new SlowForwardPass(model, TimeSpan.FromMilliseconds(10)), model.Tokenizer, queueCapacity: 1);
        var prompt = model.Generator.TokenizePrompt(Prompts[0]);
        var running = generator.Submit(prompt, Options(-1));
        var queued = generator.Submit(prompt, Options(4));
        var refused = Assert.Throws<GenerationQueueFullException>(() => generator.Submit(prompt, Options(4)));
        Assert.Equal(1, refused.Slots);
        Assert.Equal(1, refused.QueueCapacity);

        // The queued request leaves the queue when cancelled, making room for another.
        using (var cancellation = new CancellationTokenSource())
        {
            var reading = ReadAsync(queued, cancellation.Token);
            await cancellation.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        }

        Assert.Equal(GenerationStopReason.Cancelled, queued.Statistics.StopReason);
        Assert.Equal(0, queued.Statistics.GeneratedTokens);
        var next = generator.Submit(prompt, Options(4));

        // Reading a few pieces of the running request, then leaving, cancels it and hands its slot to the next.
        await using (var pieces = running.ReadAllAsync().GetAsyncEnumerator())
        {
            Assert.True(await pieces.MoveNextAsync());
        }

        var text = await ReadAsync(next).WaitAsync(Timeout);
        Assert.Equal(Alone([(prompt, Options(4))])[0].Text, text);
        Assert.Equal(GenerationStopReason.Cancelled, running.Statistics.StopReason);
        Assert.InRange(running.Statistics.GeneratedTokens, 1, Context / 2);
        Assert.Equal(0, generator.RunningCount);
    }

    [Fact]
    public async Task A_request_sharing_a_slots_cached_prefix_runs_only_what_follows_it()
    {
        using var model = Load(2);
        var first = model.Generator.TokenizePrompt("Once upon a time there was a");
        var second = model.Generator.TokenizePrompt("Once upon a time there was a dog");
        using var generator = new BatchGenerator(model, model.Tokenizer, queueCapacity: 0);
        var a = generator.Submit(first, Options(6));
        var firstText = await ReadAsync(a).WaitAsync(Timeout);
        var b = generator.Submit(second, Options(6));
        var secondText = await ReadAsync(b).WaitAsync(Timeout);

        Assert.Equal(0, a.Statistics.CachedTokens);
        int shared = first.Zip(second).TakeWhile(p => p.First == p.Second).Count();
        Assert.True(shared > 3);
        Assert.Equal(shared, b.Statistics.CachedTokens);
        Assert.Equal(second.Length - shared, b.Statistics.PromptTokens);
        var expected = Alone([(first, Options(6)), (second, Options(6))]);
        Assert.Equal(expected[0].Text, firstText);
        Assert.Equal(expected[1].Text, secondText);
    }

    [Fact]
    public void Bad_requests_are_refused_when_submitted()
    {
        using var model = Load(1);
        using var generator = new BatchGenerator(model, model.Tokenizer, queueCapacity: 0);
        Assert.Throws<ArgumentException>(() => generator.Submit([], Options(4)));
        var tooLong = Assert.Throws<PromptTooLongException>(() => generator.Submit(new int[Context], Options(4)));
        Assert.Equal(Context, tooLong.ContextLength);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Submit([1, 2], Options(-2)));
    }
}

/// <summary>A forward pass that sleeps before each batch, so that a test can act while a generation still runs.</summary>
internal sealed class SlowForwardPass(IForwardPass model, TimeSpan delay) : IForwardPass
{
    public int ContextLength => model.ContextLength;

    public int SequenceCount => model.SequenceCount;

    public int VocabularySize => model.VocabularySize;

    public int MaxBatch => model.MaxBatch;

    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false)
    {
        Thread.Sleep(delay);
        return model.Forward(tokens, position, allLogits);
    }

    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs)
    {
        Thread.Sleep(delay);
        return model.Forward(tokens, positions, sequences, outputs);
    }
}
