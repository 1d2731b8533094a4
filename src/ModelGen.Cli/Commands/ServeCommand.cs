using System.CommandLine;
using System.Net;
using ModelGen.Gguf;
using ModelGen.Runtime.Generation;
using ModelGen.Server;

namespace ModelGen.Cli.Commands;

/// <summary>
/// <c>modelgen serve [MODEL] [--host 127.0.0.1] [--port 8080] [--parallel N] [--queue Q] [--api-key KEY] [-c CTX] [-t THREADS]</c>:
/// an OpenAI-compatible server with a chat page, generating for up to N clients at once.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Most sequences served at once: far above what a CPU serves well, low enough to refuse a typo.</summary>
    private const int MaxParallel = 64;

    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var host = new Option<string>("--host") { Description = "IP address to listen on, or localhost; 0.0.0.0 or :: listens on every interface", DefaultValueFactory = _ => "127.0.0.1" }
            .Allow(h => ParseHost(h) is not null, "an IP address or localhost");
        var port = new Option<int>("--port") { Description = "TCP port, 0 to 65535; 0 takes a free one", DefaultValueFactory = _ => 8080 }
            .Allow(p => p is >= 0 and <= IPEndPoint.MaxPort, "between 0 and 65535");
        var parallel = new Option<int>("--parallel", "-np") { Description = $"Requests generated at once, each in its own KV-cache slot, 1 to {MaxParallel}", DefaultValueFactory = _ => 1 }
            .Allow(n => n is >= 1 and <= MaxParallel, $"between 1 and {MaxParallel}");
        var queue = new Option<int>("--queue") { Description = "Requests that may wait for a slot; beyond them the server answers 429", DefaultValueFactory = _ => 16 }
            .Allow(q => q >= 0, "at least 0");
        var apiKey = new Option<string?>("--api-key") { Description = "Require Authorization: Bearer KEY on /v1/ requests" }
            .Allow(k => !string.IsNullOrWhiteSpace(k), "a non-empty key");
        var threads = CommandLine.Threads();
        var context = CommandLine.Context();
        var command = new Command("serve", "Serve a model over an OpenAI-compatible HTTP API, with a chat page at /")
        {
            model, host, port, parallel, queue, apiKey, threads, context,
        };
        command.SetAction((result, cancellation) => Task.FromResult(CommandLine.Run(() =>
        {
            using var m = CommandLine.LoadForGeneration(result.GetValue(model), result.GetValue(threads), result.GetValue(context), result.GetValue(parallel));
            using var generator = new BatchGenerator(m.Generator.Model, m.Tokenizer, result.GetValue(queue));
            var options = new ModelServerOptions
            {
                Address = ParseHost(result.GetValue(host)!)!,
                Port = result.GetValue(port),
                ApiKey = result.GetValue(apiKey),
            };
            Serve(m, generator, options, cancellation).GetAwaiter().GetResult();
        })));
        return command;
    }

    private static async Task Serve(ILanguageModel model, BatchGenerator generator, ModelServerOptions options, CancellationToken cancellation)
    {
        await using var server = await ModelServer.StartAsync(model, generator, options, cancellation);
        Console.Error.WriteLine($"modelgen: serving {DisplayText.Escape(model.Name)} at {server.Url} ({generator.SlotCount} slot(s), {generator.QueueCapacity} may queue" +
                                $"{(options.ApiKey is null ? "" : ", API key required")}): chat page at /, OpenAI API at /v1; Ctrl-C stops");
        await server.WaitForShutdownAsync(cancellation);
    }

    private static IPAddress? ParseHost(string host) =>
        host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(host, out var address) ? address : null;
}
