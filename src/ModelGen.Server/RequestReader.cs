using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;

namespace ModelGen.Server;

/// <summary>
/// Reads request bodies and checks them: a body that is not JSON of the endpoint's shape, a missing field or a value
/// out of range becomes an <see cref="ApiException"/> (400) naming the field. Ranges are those of the OpenAI API and of
/// <c>modelgen run</c>.
/// </summary>
internal static class RequestReader
{
    /// <summary>Largest frequency or presence penalty: the OpenAI API's range.</summary>
    private const float MaxPenalty = 2f;

    /// <summary>Most stop sequences a request may give, as OpenAI's API allows.</summary>
    private const int MaxStops = 4;

    public static async Task<T> ReadBodyAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        if (!(context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            throw ApiException.BadRequest("the body must be JSON, sent with Content-Type: application/json");
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted)
                ?? throw ApiException.BadRequest("the body is null: send a JSON object");
        }
        catch (JsonException e)
        {
            // System.Text.Json's message names the path and position, and quotes nothing of the body.
            throw ApiException.BadRequest($"the body is not valid JSON for this endpoint: {e.Message}");
        }
    }

    /// <summary>The conversation as the chat template's messages: roles system, developer (as system), user and assistant, text only.</summary>
    public static List<ChatMessage> Messages(ChatCompletionRequest request)
    {
        if (request.Messages is not { Count: > 0 } messages)
        {
            throw ApiException.BadRequest("messages is required and must hold at least one message", "messages");
        }

        var result = new List<ChatMessage>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw ApiException.BadRequest($"messages[{i}] is null", $"messages[{i}]");
            var role = message.Role switch
            {
                "system" or "developer" => "system",
                "user" or "assistant" => message.Role,
                null => throw ApiException.BadRequest($"messages[{i}].role is required", $"messages[{i}].role"),
                _ => throw ApiException.BadRequest($"messages[{i}].role must be system, developer, user or assistant", $"messages[{i}].role"),
            };
            result.Add(new ChatMessage(role, Content(message.Content, $"messages[{i}].content")));
        }

        return result;
    }

    /// <summary>A message's text: a string, or the concatenated text of an array of parts (other parts are refused).</summary>
    private static string Content(JsonElement content, string param)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                        || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                    {
                        throw ApiException.BadRequest($"{param} may hold only text parts ({{\"type\":\"text\",\"text\":\"...\"}}): this server sends only text to the model", param);
                    }

                    text.Append(value.GetString());
                }

                return text.ToString();
            default:
                throw ApiException.BadRequest($"{param} must be a string or an array of text parts", param);
        }
    }

    /// <summary>The prompt of a text completion: a string, or an array of exactly one string.</summary>
    public static string Prompt(TextCompletionRequest request)
    {
        var prompt = request.Prompt;
        string? text = prompt.ValueKind switch
        {
            JsonValueKind.String => prompt.GetString(),
            JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String => prompt[0].GetString(),
            JsonValueKind.Undefined or JsonValueKind.Null => throw ApiException.BadRequest("prompt is required", "prompt"),
            _ => throw ApiException.BadRequest("prompt must be a string (or an array of one string: this server completes one prompt per request)", "prompt"),
        };
        return string.IsNullOrEmpty(text) ? throw ApiException.BadRequest("prompt is empty: give some text to continue", "prompt") : text;
    }

    /// <summary>
    /// The generation options a request asks for; what it leaves out keeps <c>modelgen run</c>'s defaults, and
    /// <paramref name="defaultMaxTokens"/> (-1: until the context is full) when it sets no token limit.
    /// </summary>
    public static GenerationOptions Options(CompletionRequestBase request, int? maxTokens, int defaultMaxTokens)
    {
        if (request.N is { } n && n != 1)
        {
            throw ApiException.BadRequest("n must be 1: this server generates one choice per request", "n");
        }

        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions
        {
            Temperature = Checked(request.Temperature, "temperature", t => float.IsFinite(t) && t is >= 0 and <= 2, "between 0 and 2") ?? defaults.Temperature,
            TopP = Checked(request.TopP, "top_p", p => p is >= 0 and <= 1, "between 0 and 1") ?? defaults.TopP,
            TopK = Checked(request.TopK, "top_k", k => k >= 0, "at least 0 (0 disables it)") ?? defaults.TopK,
            MinP = Checked(request.MinP, "min_p", p => p is >= 0 and <= 1, "between 0 and 1") ?? defaults.MinP,
            FrequencyPenalty = Checked(request.FrequencyPenalty, "frequency_penalty", p => p is >= -MaxPenalty and <= MaxPenalty, "between -2 and 2")
                ?? defaults.FrequencyPenalty,
            PresencePenalty = Checked(request.PresencePenalty, "presence_penalty", p => p is >= -MaxPenalty and <= MaxPenalty, "between -2 and 2")
                ?? defaults.PresencePenalty,
            Seed = (int?)Checked(request.Seed, "seed", s => s is >= int.MinValue and <= int.MaxValue, "a 32-bit integer"),
        };
        return new GenerationOptions
        {
            MaxTokens = Checked(maxTokens, "max_tokens", t => t >= 1, "at least 1") ?? defaultMaxTokens,
            Sampling = sampling,
            StopStrings = Stops(request.Stop),
        };
    }

    /// <summary><c>stop</c>: a string or an array of up to four, none empty.</summary>
    private static string[] Stops(JsonElement stop)
    {
        string[] stops = stop.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => [],
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) =>
                [.. stop.EnumerateArray().Select(s => s.GetString()!)],
            _ => throw ApiException.BadRequest("stop must be a string or an array of strings", "stop"),
        };
        if (stops.Length > MaxStops)
        {
            throw ApiException.BadRequest($"stop holds {stops.Length} sequences; at most {MaxStops} are allowed", "stop");
        }

        return stops.Any(string.IsNullOrEmpty)
            ? throw ApiException.BadRequest("stop holds an empty text, which would stop before anything", "stop")
            : stops;
    }

    private static T? Checked<T>(T? value, string param, Func<T, bool> valid, string range)
        where T : struct =>
        value is { } v && !valid(v) ? throw ApiException.BadRequest($"{param} must be {range}; got {v}", param) : value;
}
