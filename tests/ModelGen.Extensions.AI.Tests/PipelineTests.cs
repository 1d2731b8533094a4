using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelGen.Runtime.Engine;

namespace ModelGen.Extensions.AI.Tests;

/// <summary>The client as applications compose it: middleware from Microsoft.Extensions.AI around it, and a compiled model under it.</summary>
public sealed class PipelineTests
{
    private static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 10 };

    [Fact]
    public async Task Logging_and_caching_middleware_wrap_the_client_and_a_repeated_request_is_served_from_the_cache()
    {
        using var model = GenericModel.Load(ChatClientTests.DefaultModel, new ModelOptions { ContextLength = 128, Threads = 1 });
        var log = new RecordingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(log).SetMinimumLevel(LogLevel.Debug));
        var cache = new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions()));
        using var client = new ChatClientBuilder(model.AsChatClient())
            .UseLogging(loggerFactory)
            .UseDistributedCache(cache)
            .Build();

        List<ChatMessage> conversation = [new(ChatRole.User, "hello there")];
        var first = await client.GetResponseAsync(conversation, Greedy);
        var ran = model.Generator.Statistics;
        var second = await client.GetResponseAsync(conversation, Greedy);

        Assert.Same(ran, model.Generator.Statistics);
        Assert.Equal((first.Text, first.ResponseId, first.Usage!.OutputTokenCount), (second.Text, second.ResponseId, second.Usage!.OutputTokenCount));
        Assert.Equal(10, first.Usage.OutputTokenCount);

        var other = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "something else")], Greedy);
        Assert.NotSame(ran, model.Generator.Statistics);
        Assert.NotEqual(first.Text, other.Text);

        Assert.Equal(3, log.Entries.Count(e => e.Message.Contains("GetResponseAsync invoked", StringComparison.Ordinal)));
        Assert.Equal(3, log.Entries.Count(e => e.Message.Contains("GetResponseAsync completed", StringComparison.Ordinal)));
        Assert.Same(model, client.GetService<GenericModel>());
    }

    [Fact]
    public async Task A_compiled_model_class_is_a_chat_client_that_answers_as_the_generic_engine()
    {
        using var compiled = TinyModel.Load(ChatClientTests.DefaultModel, threads: 1);
        using var generic = GenericModel.Load(ChatClientTests.DefaultModel, new ModelOptions { ContextLength = TinyModel.ContextLength, Threads = 1 });
        List<ChatMessage> conversation = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "hello there")];

        var response = await compiled.AsChatClient().GetResponseAsync(conversation, Greedy);
        var expected = await generic.AsChatClient().GetResponseAsync(conversation, Greedy);

        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(10, response.Usage!.OutputTokenCount);
        var client = compiled.AsChatClient();
        Assert.Same(compiled, client.GetService<TinyModel>());
        Assert.Equal(generic.Name, client.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly List<(LogLevel Level, string Message)> _entries = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(RecordingLoggerProvider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (provider._entries)
                {
                    provider._entries.Add((logLevel, formatter(state, exception)));
                }
            }
        }
    }
}
