using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using TemplateMessage = ModelGen.Runtime.Chat.ChatMessage;

namespace ModelGen.Extensions.AI;

/// <summary>
/// <see cref="IChatClient"/> over an <see cref="ILanguageModel"/>: renders the messages with the model's chat
/// template, tokenizes them and streams the continuation from the model's generator (see
/// <see cref="LanguageModelChatClientExtensions.AsChatClient"/>).
/// </summary>
/// <remarks>
/// Only text is sent to the model: a message holding other content (images, audio, files, tool calls or results)
/// is refused with <see cref="NotSupportedException"/> rather than answered as if it were not there; usage content
/// left in a message by an earlier response is skipped. Tools and JSON response formats are refused the same way.
/// <see cref="ChatOptions.Instructions"/> becomes a system message before the others; <see cref="ChatOptions.ModelId"/>
/// is ignored, the client having one model. A conversation longer than the context is refused with
/// <see cref="PromptTooLongException"/>: dropping turns is the caller's choice (a chat reducer, for example).
/// </remarks>
internal sealed class LanguageModelChatClient(ILanguageModel model) : IChatClient
{
    /// <summary>Largest frequency or presence penalty: the OpenAI API's range, which <c>modelgen run</c> takes too.</summary>
    private const float MaxPenalty = 2f;

    private readonly ChatTemplate _template = ChatTemplate.For(model);

    private readonly ChatClientMetadata _metadata = new("modelgen", defaultModelId: model.Name);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var request = Prepare(messages, options);
        var text = new StringBuilder();
        await foreach (var piece in model.Generator.GenerateAsync(request.Prompt, request.Options, cancellationToken))
        {
            text.Append(piece);
        }

        var message = new AIChatMessage(ChatRole.Assistant, text.ToString()) { MessageId = request.MessageId, CreatedAt = request.CreatedAt };
        return new ChatResponse(message)
        {
            ResponseId = request.ResponseId,
            CreatedAt = request.CreatedAt,
            ModelId = model.Name,
            FinishReason = request.FinishReason,
            Usage = request.Usage,
        };
    }

    /// <remarks>
    /// Each piece of text comes as one update as soon as it is generated; a last update carries the finish reason
    /// and the usage (as <see cref="UsageContent"/>).
    /// </remarks>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = Prepare(messages, options);
        await foreach (var piece in model.Generator.GenerateAsync(request.Prompt, request.Options, cancellationToken))
        {
            yield return request.Update([new TextContent(piece)]);
        }

        var last = request.Update([new UsageContent(request.Usage)]);
        last.FinishReason = request.FinishReason;
        yield return last;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(model) ? model
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Nothing to release: the model belongs to whoever loaded it.</summary>
    public void Dispose()
    {
    }

    private Request Prepare(IEnumerable<AIChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var generation = ToGenerationOptions(options);
        var rendered = _template.Format(ToTemplateMessages(messages, options?.Instructions));
        var prompt = model.Generator.TokenizePrompt(rendered, generation.ParseSpecialTokens);
        return new Request(prompt, generation with { StopStrings = [.. generation.StopStrings, .. _template.StopStrings] }, model.Name);
    }

    private static List<TemplateMessage> ToTemplateMessages(IEnumerable<AIChatMessage> messages, string? instructions)
    {
        var rendered = new List<TemplateMessage>();
        if (instructions is not null)
        {
            rendered.Add(new TemplateMessage("system", instructions));
        }

        foreach (var message in messages)
        {
            var text = new StringBuilder();
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent part:
                        text.Append(part.Text);
                        break;
                    case UsageContent:
                        break;
                    default:
                        throw new NotSupportedException($"a {message.Role} message holds {content.GetType().Name}: this client sends only text to the model");
                }
            }

            rendered.Add(new TemplateMessage(message.Role.Value, text.ToString()));
        }

        return rendered;
    }

    /// <summary>
    /// <paramref name="options"/> as the generator's; what is not set keeps llama.cpp's defaults, as <c>modelgen run</c>
    /// does, and the reply may run until an end-of-generation token, a stop sequence or a full context.
    /// </summary>
    private static GenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        if (options is null)
        {
            return new GenerationOptions { MaxTokens = -1 };
        }

        if (options.Tools is { Count: > 0 })
        {
            throw new NotSupportedException("tools (function calling) are not supported: remove ChatOptions.Tools");
        }

        if (options.ResponseFormat is ChatResponseFormatJson)
        {
            throw new NotSupportedException("JSON response formats are not supported: the model's output is not constrained");
        }

        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions
        {
            Temperature = Checked(options.Temperature, nameof(options.Temperature), t => float.IsFinite(t) && t >= 0, "a finite number at least 0")
                ?? defaults.Temperature,
            TopP = Checked(options.TopP, nameof(options.TopP), p => p is >= 0 and <= 1, "between 0 and 1") ?? defaults.TopP,
            TopK = Checked(options.TopK, nameof(options.TopK), k => k >= 0, "at least 0 (0 disables it)") ?? defaults.TopK,
            FrequencyPenalty = Checked(options.FrequencyPenalty, nameof(options.FrequencyPenalty), p => p is >= -MaxPenalty and <= MaxPenalty,
                $"between -{MaxPenalty} and {MaxPenalty}") ?? defaults.FrequencyPenalty,
            PresencePenalty = Checked(options.PresencePenalty, nameof(options.PresencePenalty), p => p is >= -MaxPenalty and <= MaxPenalty,
                $"between -{MaxPenalty} and {MaxPenalty}") ?? defaults.PresencePenalty,
            Seed = (int?)Checked(options.Seed, nameof(options.Seed), s => s is >= int.MinValue and <= int.MaxValue, "a 32-bit integer"),
        };
        var stops = options.StopSequences ?? [];
        if (stops.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("ChatOptions.StopSequences holds an empty text, which would stop before anything", nameof(options));
        }

        return new GenerationOptions
        {
            MaxTokens = Checked(options.MaxOutputTokens, nameof(options.MaxOutputTokens), n => n >= 1, "at least 1") ?? -1,
            Sampling = sampling,
            StopStrings = [.. stops],
        };
    }

    private static T? Checked<T>(T? value, string option, Func<T, bool> valid, string range)
        where T : struct
    {
        if (value is { } v && !valid(v))
        {
            throw new ArgumentOutOfRangeException($"options.{option}", v, $"ChatOptions.{option} must be {range}");
        }

        return value;
    }

    /// <summary>One call: its prompt and options, the identities of its response, and the statistics it fills in.</summary>
    private sealed class Request
    {
        private GenerationStatistics? _statistics;

        public Request(int[] prompt, GenerationOptions options, string modelId)
        {
            Prompt = prompt;
            // The generator's own Statistics may be a later call's by the time this one reads it.
            Options = options with { Started = statistics => _statistics = statistics };
            ModelId = modelId;
        }

        public int[] Prompt { get; }

        public GenerationOptions Options { get; }

        public string ModelId { get; }

        public string ResponseId { get; } = Guid.NewGuid().ToString("N");

        public string MessageId { get; } = Guid.NewGuid().ToString("N");

        public DateTimeOffset CreatedAt { get; } = DateTimeOffset.UtcNow;

        private GenerationStatistics Statistics => _statistics ?? throw new InvalidOperationException("the generation has not started");

        public ChatFinishReason FinishReason => Statistics.StopReason switch
        {
            GenerationStopReason.TokenLimit or GenerationStopReason.ContextFull => ChatFinishReason.Length,
            _ => ChatFinishReason.Stop,
        };

        /// <summary>
        /// Input counts every prompt token, those the KV cache already held (<see cref="UsageDetails.CachedInputTokenCount"/>)
        /// included, as an API that bills a whole prompt would.
        /// </summary>
        public UsageDetails Usage => new()
        {
            InputTokenCount = Prompt.Length,
            CachedInputTokenCount = Statistics.CachedTokens,
            OutputTokenCount = Statistics.GeneratedTokens,
            TotalTokenCount = Prompt.Length + Statistics.GeneratedTokens,
        };

        public ChatResponseUpdate Update(IList<AIContent> contents) => new(ChatRole.Assistant, contents)
        {
            ResponseId = ResponseId,
            MessageId = MessageId,
            CreatedAt = CreatedAt,
            ModelId = ModelId,
        };
    }
}
