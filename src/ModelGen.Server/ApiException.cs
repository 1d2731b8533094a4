using Microsoft.AspNetCore.Http;

namespace ModelGen.Server;

/// <summary>A request the server refuses: its HTTP status and OpenAI's error fields.</summary>
internal sealed class ApiException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
    : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public static ApiException BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, param, code);

    public ErrorBody ToBody() => new(new ErrorDetail(Message, Type, Param, Code));

    /// <summary>Writes <paramref name="body"/> with <paramref name="status"/> in OpenAI's error shape.</summary>
    public static Task WriteAsync(HttpContext context, int status, ErrorBody body)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(body, ProtocolJson.Default.ErrorBody, contentType: null, context.RequestAborted);
    }
}
