using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ModelGen.Server;

/// <summary>
/// The chat page at <c>/</c>: three static files embedded in this assembly (wwwroot/), written by hand, with no
/// front-end build step. It talks to the server's own API.
/// </summary>
internal static class ChatPage
{
    private static readonly (string Path, string Resource, string ContentType)[] Files =
    [
        ("/", "wwwroot/index.html", "text/html; charset=utf-8"),
        ("/chat.js", "wwwroot/chat.js", "text/javascript; charset=utf-8"),
        ("/chat.css", "wwwroot/chat.css", "text/css; charset=utf-8"),
    ];

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var (path, resource, contentType) in Files)
        {
            var content = Read(resource);
            endpoints.MapGet(path, context =>
            {
                context.Response.ContentType = contentType;
                context.Response.Headers.CacheControl = "no-cache";
                return context.Response.Body.WriteAsync(content, context.RequestAborted).AsTask();
            });
        }
    }

    private static byte[] Read(string resource)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the chat page's {resource} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
