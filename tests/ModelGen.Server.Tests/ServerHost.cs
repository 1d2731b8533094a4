using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text.Json;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;
using OpenAI;
using OpenAI.Chat;
using TemplateMessage = ModelGen.Runtime.Chat.ChatMessage;

namespace ModelGen.Server.Tests;

/// <summary>
/// A real server on a free loopback port over the tiny test model (generic engine), with its batch generator and a
/// forward pass that counts its calls and may be slowed down, so that a test can hold a stream open long enough to
/// disconnect from it, fill the queue, or press stop.
/// </summary>
internal sealed class ServerHost : IAsyncDisposable
{
    /// <summary>Context of the test model as served: a request that fills it takes 100-odd steps.</summary>
    public const int Context = 128;

    private readonly GenericModel _model;
    private readonly PacedForwardPass _forward;
    private readonly BatchGenerator _generator;
    private readonly ModelServer _server;

    private ServerHost(GenericModel model, PacedForwardPass forward, BatchGenerator generator, ModelServer server)
    {
        _model = model;
        _forward = forward;
        _generator = generator;
        _server = server;
        Http = new HttpClient { BaseAddress = server.Url };
        // A response left unread is not drained to keep its connection: the connection closes, as a client that goes
        // away closes it (draining would hold a stream open for up to 2 s after the client stopped reading).
        _openAIHttp = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { Timeout = TimeSpan.FromMinutes(1) };
    }

    private readonly HttpClient _openAIHttp;

    /// <param name="endless">
    /// Whether the model's end-of-generation tokens are never sampled, so that a reply without a token limit runs until
    /// the context is full, whatever the sampler draws: for tests that must find a stream still running.
    /// </param>
    public static async Task<ServerHost> StartAsync(int parallel = 4, int queue = 16, string? apiKey = null, TimeSpan stepDelay = default, bool endless = false)
    {
        var model = GenericModel.Load(SharedData.TinyModel, new ModelOptions { Threads = 1, ContextLength = Context, Sequences = parallel });
        var forward = new PacedForwardPass(model, stepDelay, endless ? model.Tokenizer.EndOfGenerationIds : []);
        var generator = new BatchGenerator(forward, model.Tokenizer, queue);
        var server = await ModelServer.StartAsync(model, generator, new ModelServerOptions { Port = 0, ApiKey = apiKey });
        return new ServerHost(model, forward, generator, server);
    }

    public Uri Url => _server.Url;

    public string ModelName => _model.Name;

    /// <summary>A client without retries: a refusal is what a test is looking for.</summary>
    public HttpClient Http { get; }

    /// <summary>Batched forward passes run so far.</summary>
    public int ForwardCalls => _forward.Calls;

    public ChatClient ChatClient(string apiKey = "no key needed") =>
        new("any-name", new ApiKeyCredential(apiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(Url, "v1"),
            // Retrying a 429 or a 500 would hide exactly what the tests look for.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            Transport = new HttpClientPipelineTransport(_openAIHttp),
        });

    public async Task<JsonElement> HealthAsync() => await Http.GetFromJsonAsync<JsonElement>("/health");

    /// <summary>Waits until no slot is busy, or fails after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await HealthAsync()).GetProperty("slots_busy").GetInt32() != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"a slot is still busy after {timeout}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _openAIHttp.Dispose();
        await _server.DisposeAsync();
        _generator.Dispose();
        _model.Dispose();
    }
}

/// <summary>What the test model says alone, through TextGenerator on a model of one sequence: what the server must send.</summary>
internal static class Expected
{
    private static readonly Lazy<GenericModel> Model = new(() =>
        GenericModel.Load(SharedData.TinyModel, new ModelOptions { Threads = 1, ContextLength = ServerHost.Context }));

    private static readonly Lock Gate = new();

    /// <summary>The greedy reply to one user message, as the server renders it with the model's chat template.</summary>
    public static (string Text, GenerationStatistics Statistics) Chat(string message, int maxTokens, params string[] stops)
    {
        lock (Gate)
        {
            var model = Model.Value;
            var template = ChatTemplate.For(model);
            var prompt = model.Tokenizer.Tokenize(template.Format([new TemplateMessage("user", message)]), addSpecial: true, parseSpecial: true);
            var text = string.Concat(model.Generator.Generate(prompt, new GenerationOptions
            {
                MaxTokens = maxTokens,
                Sampling = SamplingOptions.Greedy,
                StopStrings = [.. stops, .. template.StopStrings],
            }));
            return (text, model.Generator.Statistics);
        }
    }

    /// <summary>
    /// Forward passes a reply to <paramref name="message"/> takes to fill the context on an endless server: one for the
    /// prompt and one for each token after the first.
    /// </summary>
    public static int StepsToFillContext(string message)
    {
        lock (Gate)
        {
            var model = Model.Value;
            var template = ChatTemplate.For(model);
            int prompt = model.Tokenizer.Tokenize(template.Format([new TemplateMessage("user", message)]), addSpecial: true, parseSpecial: true).Length;
            return ServerHost.Context - prompt;
        }
    }

    /// <summary>The greedy continuation of a text prompt.</summary>
    public static string Completion(string prompt, int maxTokens)
    {
        lock (Gate)
        {
            var model = Model.Value;
            return string.Concat(model.Generator.Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy }));
        }
    }
}

/// <summary>
/// The model's forward pass, counted, optionally slowed by a fixed delay per batch, and optionally with some tokens'
/// logits set to -∞ so that they are never sampled.
/// </summary>
internal sealed class PacedForwardPass(IForwardPass model, TimeSpan delay, IReadOnlyList<int> suppressed) : IForwardPass
{
    private float[] _logits = [];
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public int ContextLength => model.ContextLength;

    public int SequenceCount => model.SequenceCount;

    public int VocabularySize => model.VocabularySize;

    public int MaxBatch => model.MaxBatch;

    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int position, bool allLogits = false) =>
        throw new InvalidOperationException("the server runs batches of sequences only");

    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, ReadOnlySpan<bool> outputs)
    {
        Interlocked.Increment(ref _calls);
        if (delay > TimeSpan.Zero)
        {
            Thread.Sleep(delay);
        }

        var logits = model.Forward(tokens, positions, sequences, outputs);
        if (suppressed.Count == 0)
        {
            return logits;
        }

        if (_logits.Length < logits.Length)
        {
            _logits = new float[logits.Length];
        }

        var copy = _logits.AsSpan(0, logits.Length);
        logits.CopyTo(copy);
        for (int row = 0; row < copy.Length; row += VocabularySize)
        {
            foreach (int token in suppressed)
            {
                copy[row + token] = float.NegativeInfinity;
            }
        }

        return copy;
    }
}
