using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelGen.Server;

// The request and response bodies of OpenAI's chat completions, completions and models endpoints, as far as this
// server implements them. Fields that may be a string or an array (content, stop, prompt) are read as JsonElement and
// checked by RequestReader, so that a wrong shape gets a 400 naming the field rather than a generic parse error.

/// <summary>The sampling and stopping fields both completion endpoints take.</summary>
internal abstract class CompletionRequestBase
{
    public string? Model { get; set; }

    public int? MaxTokens { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    /// <summary>Not OpenAI's; llama.cpp's server takes it too.</summary>
    public int? TopK { get; set; }

    /// <summary>Not OpenAI's; llama.cpp's server takes it too.</summary>
    public float? MinP { get; set; }

    public float? FrequencyPenalty { get; set; }

    public float? PresencePenalty { get; set; }

    public long? Seed { get; set; }

    public JsonElement Stop { get; set; }

    public int? N { get; set; }

    public bool Stream { get; set; }

    public StreamOptions? StreamOptions { get; set; }
}

internal sealed class StreamOptions
{
    public bool IncludeUsage { get; set; }
}

internal sealed class ChatCompletionRequest : CompletionRequestBase
{
    public List<ChatMessageBody>? Messages { get; set; }

    /// <summary>What newer clients send instead of <see cref="CompletionRequestBase.MaxTokens"/>.</summary>
    public int? MaxCompletionTokens { get; set; }

    public JsonElement Tools { get; set; }
}

internal sealed class ChatMessageBody
{
    public string? Role { get; set; }

    /// <summary>A string, or an array of parts of which this server reads the text ones.</summary>
    public JsonElement Content { get; set; }
}

internal sealed class TextCompletionRequest : CompletionRequestBase
{
    /// <summary>A string, or an array of one string.</summary>
    public JsonElement Prompt { get; set; }
}

internal sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record AssistantMessage(string Role, string Content);

internal sealed record ChatChoice(int Index, AssistantMessage Message, string FinishReason);

internal sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage);

internal sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content = null);

internal sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason);

internal sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices, Usage? Usage = null);

internal sealed record TextChoice(int Index, string Text, string? FinishReason);

internal sealed record TextCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices, Usage? Usage = null);

internal sealed record ModelEntry(string Id, string Object, long Created, string OwnedBy);

internal sealed record ModelList(string Object, IReadOnlyList<ModelEntry> Data);

/// <summary><c>/health</c>: "ok", and how busy the server is.</summary>
internal sealed record Health(string Status, int Slots, int SlotsBusy, int Queued, int QueueCapacity);

internal sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);

internal sealed record ErrorBody(ErrorDetail Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(TextCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(TextCompletion))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(ErrorBody))]
internal sealed partial class ProtocolJson : JsonSerializerContext;
