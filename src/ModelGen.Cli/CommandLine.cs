using System.CommandLine;
using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli;

/// <summary>What the commands share: options, model loading, and turning bad input into one line and an exit code.</summary>
internal static class CommandLine
{
    /// <summary>The optional MODEL argument: a .gguf path, or the embedded default model when omitted.</summary>
    public static Argument<string?> ModelArgument() =>
        new("MODEL") { Description = "A .gguf model (default: the embedded default model)", Arity = ArgumentArity.ZeroOrOne };

    public static Option<int> Threads() => new("-t", "--threads") { Description = "Worker threads (default: all cores)" };

    public static Option<int> Context() => new("-c", "--ctx-size") { Description = "Context length in tokens (default: the model's, at most 4096; the embedded model runs compiled only at its own)" };

    /// <summary>
    /// Loads a model to generate with, reporting what was loaded on stderr: the embedded default model runs as the
    /// class compiled from it (<see cref="ModelgenTiny"/>) unless another context length is asked for; any other
    /// file runs on the generic engine.
    /// </summary>
    public static GeneratingModel LoadForGeneration(string? path, int threads, int context)
    {
        if (path is not null || (context != 0 && context != ModelgenTiny.CacheLength))
        {
            var generic = Load(path, threads, context);
            return new GeneratingModel(generic.Generator, generic.ChatTemplate, generic);
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        var compiled = ModelgenTiny.Load(DefaultModel.Path, threads);
        Console.Error.WriteLine($"modelgen: {DefaultModel.FileName}: {ModelgenTiny.ModelName} ({ModelgenTiny.Architecture}, {ModelgenTiny.LayerCount} layers, " +
                                $"dim {ModelgenTiny.EmbeddingLength}, vocab {ModelgenTiny.VocabularySize}, context {ModelgenTiny.CacheLength}), " +
                                $"compiled into modelgen, loaded in {started.ElapsedMilliseconds} ms");
        return new GeneratingModel(compiled.Generator, compiled.ChatTemplate, compiled);
    }

    /// <summary>Loads a model on the generic engine, reporting what was loaded on stderr.</summary>
    public static GenericModel Load(string? path, int threads, int context)
    {
        path ??= DefaultModel.Path;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var model = GenericModel.Load(path, new ModelOptions { Threads = threads, ContextLength = context });
        var c = model.Config;
        Console.Error.WriteLine($"modelgen: {Path.GetFileName(path)}: {c.Name} ({c.Architecture}, {c.LayerCount} layers, " +
                                $"dim {c.EmbeddingLength}, vocab {c.VocabularySize}, context {model.ContextLength}) loaded in {started.ElapsedMilliseconds} ms");
        return model;
    }

    /// <summary>Reads <c>--text</c>/<c>--prompt</c> or <c>--file</c>, exactly one of them.</summary>
    public static string TextOrFile(string? text, string? file, string textOption) =>
        (text, file) switch
        {
            (not null, null) => text,
            (null, not null) => File.ReadAllText(file),
            _ => throw new ArgumentException($"give exactly one of {textOption} and --file"),
        };

    /// <summary>Runs a command body; bad input becomes one line on stderr and exit code 1, never a stack trace.</summary>
    public static int Run(Action body) => Run(() =>
    {
        body();
        return 0;
    });

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("modelgen: cancelled");
            return 130;
        }
        catch (Exception e) when (e is GgufFormatException or UnsupportedModelException or PromptTooLongException
                                      or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Console.Error.WriteLine($"modelgen: {e.Message}");
            return 1;
        }
    }
}

/// <summary>What <c>run</c> and <c>chat</c> need of a model, compiled or generic: its generation loop and chat template.</summary>
internal sealed class GeneratingModel(TextGenerator generator, string? chatTemplate, IDisposable model) : IDisposable
{
    public TextGenerator Generator => generator;

    public string? ChatTemplate => chatTemplate;

    public void Dispose() => model.Dispose();
}
