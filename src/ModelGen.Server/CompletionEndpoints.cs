using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Generation;

namespace ModelGen.Server;

/// <summary>
/// <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c>: each request is checked, tokenized and submitted
/// to the batch generator before the response starts, so that every refusal (400, 429) is a status code; then the text
/// is sent whole or as server-sent events. A client that goes away cancels its request, which frees its slot.
/// </summary>
internal sealed class CompletionEndpoints(ILanguageModel model, BatchGenerator generator)
{
    private static readonly byte[] EventPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] DoneEvent = "data: [DONE]\n\n"u8.ToArray();

    private readonly ChatTemplate _template = ChatTemplate.For(model);

    public async Task ChatAsync(HttpContext context)
    {
        var body = await RequestReader.ReadBodyAsync(context, ProtocolJson.Default.ChatCompletionRequest);
        if (body.Tools.ValueKind == JsonValueKind.Array && body.Tools.GetArrayLength() > 0)
        {
            throw ApiException.BadRequest("tools (function calling) are not supported by this server", "tools");
        }

        var messages = RequestReader.Messages(body);
        // A chat reply runs until the model ends its turn unless the request sets a limit.
        var options = RequestReader.Options(body, body.MaxCompletionTokens ?? body.MaxTokens, defaultMaxTokens: -1);
        options = options with { StopStrings = [.. options.StopStrings, .. _template.StopStrings] };
        var request = Submit(_template.Format(messages), "messages", options, context.RequestAborted);
        var call = new Call("chatcmpl-");
        if (!body.Stream)
        {
            var text = await ReadAllAsync(request, context.RequestAborted);
            var completion = new ChatCompletion(call.Id, "chat.completion", call.Created, model.Name,
                [new ChatChoice(0, new AssistantMessage("assistant", text), FinishReason(request))], Usage(request));
            await context.Response.WriteAsJsonAsync(completion, ProtocolJson.Default.ChatCompletion, contentType: null, context.RequestAborted);
            return;
        }

        var chunkType = ProtocolJson.Default.ChatCompletionChunk;
        await StreamAsync(context, request, first: new ChatCompletionChunk(call.Id, "chat.completion.chunk", call.Created, model.Name,
                [new ChatChunkChoice(0, new ChatDelta(Role: "assistant", Content: ""), null)]), chunkType,
            piece => new ChatCompletionChunk(call.Id, "chat.completion.chunk", call.Created, model.Name, [new ChatChunkChoice(0, new ChatDelta(Content: piece), null)]),
            () => new ChatCompletionChunk(call.Id, "chat.completion.chunk", call.Created, model.Name, [new ChatChunkChoice(0, new ChatDelta(), FinishReason(request))]),
            body.StreamOptions?.IncludeUsage == true
                ? () => new ChatCompletionChunk(call.Id, "chat.completion.chunk", call.Created, model.Name, [], Usage(request))
                : null);
    }

    public async Task CompleteAsync(HttpContext context)
    {
        var body = await RequestReader.ReadBodyAsync(context, ProtocolJson.Default.TextCompletionRequest);
        var prompt = RequestReader.Prompt(body);
        // OpenAI's completions endpoint generates 16 tokens when the request sets no limit.
        var options = RequestReader.Options(body, body.MaxTokens, defaultMaxTokens: 16);
        var request = Submit(prompt, "prompt", options, context.RequestAborted);
        var call = new Call("cmpl-");
        if (!body.Stream)
        {
            var text = await ReadAllAsync(request, context.RequestAborted);
            var completion = new TextCompletion(call.Id, "text_completion", call.Created, model.Name, [new TextChoice(0, text, FinishReason(request))], Usage(request));
            await context.Response.WriteAsJsonAsync(completion, ProtocolJson.Default.TextCompletion, contentType: null, context.RequestAborted);
            return;
        }

        await StreamAsync(context, request, first: null, ProtocolJson.Default.TextCompletion,
            piece => new TextCompletion(call.Id, "text_completion", call.Created, model.Name, [new TextChoice(0, piece, null)]),
            () => new TextCompletion(call.Id, "text_completion", call.Created, model.Name, [new TextChoice(0, "", FinishReason(request))]),
            body.StreamOptions?.IncludeUsage == true
                ? () => new TextCompletion(call.Id, "text_completion", call.Created, model.Name, [], Usage(request))
                : null);
    }

    /// <summary>Tokenizes <paramref name="prompt"/> and queues it; a prompt too long (blamed on <paramref name="promptParam"/>) or a full queue is refused here.</summary>
    private GenerationRequest Submit(string prompt, string promptParam, GenerationOptions options, CancellationToken aborted)
    {
        var tokens = model.Tokenizer.Tokenize(prompt, addSpecial: true, parseSpecial: options.ParseSpecialTokens);
        try
        {
            return generator.Submit(tokens, options, aborted);
        }
        catch (PromptTooLongException e)
        {
            throw ApiException.BadRequest(e.Message, promptParam, "context_length_exceeded");
        }
        catch (GenerationQueueFullException e)
        {
            throw new ApiException(StatusCodes.Status429TooManyRequests, e.Message, code: "server_busy", type: "rate_limit_error");
        }
    }

    private static async Task<string> ReadAllAsync(GenerationRequest request, CancellationToken aborted)
    {
        var text = new StringBuilder();
        await foreach (var piece in request.ReadAllAsync(aborted))
        {
            text.Append(piece);
        }

        return text.ToString();
    }

    /// <summary>
    /// Sends the generation as server-sent events: <paramref name="first"/> if any, a chunk per piece of text, a chunk
    /// with the finish reason, the usage if asked for, then <c>[DONE]</c>. An error after the events have started is
    /// sent as an event in OpenAI's error shape, since the status code is already gone.
    /// </summary>
    private static async Task StreamAsync<T>(HttpContext context, GenerationRequest request, T? first, JsonTypeInfo<T> type,
        Func<string, T> piece, Func<T> finished, Func<T>? usage)
        where T : class
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Proxies such as nginx would otherwise hold the events back.
        response.Headers["X-Accel-Buffering"] = "no";
        if (first is not null)
        {
            await WriteEventAsync(response, first, type, aborted);
        }
        else
        {
            await response.StartAsync(aborted);
        }

        await response.Body.FlushAsync(aborted);
        try
        {
            await foreach (var text in request.ReadAllAsync(aborted))
            {
                await WriteEventAsync(response, piece(text), type, aborted);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await WriteEventAsync(response, new ErrorBody(new ErrorDetail($"generation failed: {e.Message}", "server_error", null, null)), ProtocolJson.Default.ErrorBody, aborted);
            return;
        }

        await WriteEventAsync(response, finished(), type, aborted);
        if (usage is not null)
        {
            await WriteEventAsync(response, usage(), type, aborted);
        }

        await response.Body.WriteAsync(DoneEvent, aborted);
        await response.Body.FlushAsync(aborted);
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken aborted)
    {
        await response.Body.WriteAsync(EventPrefix, aborted);
        await JsonSerializer.SerializeAsync(response.Body, value, type, aborted);
        await response.Body.WriteAsync(EventEnd, aborted);
        await response.Body.FlushAsync(aborted);
    }

    private static string FinishReason(GenerationRequest request) => request.Statistics.StopReason switch
    {
        GenerationStopReason.TokenLimit or GenerationStopReason.ContextFull => "length",
        _ => "stop",
    };

    private static Usage Usage(GenerationRequest request) =>
        new(request.Prompt.Length, request.Statistics.GeneratedTokens, request.Prompt.Length + request.Statistics.GeneratedTokens);

    /// <summary>The identity every chunk of one response repeats.</summary>
    private sealed class Call(string prefix)
    {
        public string Id { get; } = prefix + Guid.NewGuid().ToString("N");

        public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }
}
