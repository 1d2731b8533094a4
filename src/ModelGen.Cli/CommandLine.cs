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
        new Argument<string?>("MODEL") { Description = "A .gguf model (default: the embedded default model)", Arity = ArgumentArity.ZeroOrOne }.NotAnOption();

    /// <summary>
    /// Makes the parse fail when a path argument looks like an option (<c>inspect --jsn</c> would otherwise read a
    /// file named <c>--jsn</c>); a file whose name starts with a dash is still reachable as <c>./-name</c>.
    /// </summary>
    public static Argument<T> NotAnOption<T>(this Argument<T> argument)
    {
        argument.Validators.Add(result =>
        {
            if (result.Tokens.FirstOrDefault(t => t.Value.Length > 1 && t.Value.StartsWith('-')) is { } token)
            {
                result.AddError($"unrecognized option '{DisplayText.Escape(token.Value)}'");
            }
        });
        return argument;
    }

    /// <summary>Most worker threads a command accepts: far above any core count, low enough to refuse a typo.</summary>
    public const int MaxThreads = 1024;

    /// <summary><c>-t</c>: 0 when omitted, which the engines read as all cores.</summary>
    public static Option<int> Threads() =>
        new Option<int>("-t", "--threads") { Description = $"Worker threads, 1 to {MaxThreads} (default: all cores)" }
            .Allow(t => t is >= 1 and <= MaxThreads, $"between 1 and {MaxThreads}");

    /// <summary><c>-c</c>: 0 when omitted, which the engines read as the model's own context length.</summary>
    public static Option<int> Context() =>
        new Option<int>("-c", "--ctx-size") { Description = "Context length in tokens (default: the model's, at most 4096; the embedded model runs compiled only at its own)" }
            .Allow(c => c >= 1, "at least 1");

    /// <summary>
    /// Makes the parse fail with one line naming the option and <paramref name="allowed"/> when the option is given a
    /// value <paramref name="isAllowed"/> refuses; an omitted option keeps its default unchecked.
    /// </summary>
    public static Option<T> Allow<T>(this Option<T> option, Func<T, bool> isAllowed, string allowed)
    {
        option.Validators.Add(result =>
        {
            if (result.Implicit || !TryGetValue(result, out T value))
            {
                return;
            }

            if (!isAllowed(value))
            {
                var given = string.Join(' ', result.Tokens.Select(t => t.Value));
                result.AddError($"{result.IdentifierToken?.Value ?? option.Name} must be {allowed}; got '{DisplayText.Escape(given)}'");
            }
        });
        return option;
    }

    /// <summary>The option's value, unless it does not convert (the parser reports that error itself).</summary>
    private static bool TryGetValue<T>(System.CommandLine.Parsing.OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    /// <summary>
    /// Loads a model to generate with, reporting what was loaded on stderr: the embedded default model runs as the
    /// class compiled from it (<see cref="ModelgenFortunes"/>) unless another context length is asked for; any other
    /// file runs on the generic engine. <paramref name="sequences"/> is the number of KV-cache slots (<c>serve --parallel</c>).
    /// </summary>
    public static ILanguageModel LoadForGeneration(string? path, int threads, int context, int sequences = 1)
    {
        if (path is not null || (context != 0 && context != ModelgenFortunes.CacheLength))
        {
            return Load(path, threads, context, sequences);
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        var compiled = ModelgenFortunes.Load(DefaultModel.Path, threads, sequences: sequences);
        Console.Error.WriteLine($"modelgen: {DefaultModel.FileName}: {ModelgenFortunes.ModelName} ({ModelgenFortunes.Architecture}, {ModelgenFortunes.LayerCount} layers, " +
                                $"dim {ModelgenFortunes.EmbeddingLength}, vocab {ModelgenFortunes.VocabularySize}, context {ModelgenFortunes.CacheLength}), " +
                                $"compiled into modelgen, loaded in {started.ElapsedMilliseconds} ms");
        return compiled;
    }

    /// <summary>Loads a model on the generic engine, reporting what was loaded on stderr.</summary>
    public static GenericModel Load(string? path, int threads, int context, int sequences = 1)
    {
        path ??= DefaultModel.Path;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var model = GenericModel.Load(path, new ModelOptions { Threads = threads, ContextLength = context, Sequences = sequences });
        var c = model.Config;
        Console.Error.WriteLine($"modelgen: {DisplayText.Escape(Path.GetFileName(path))}: {DisplayText.Escape(c.Name)} ({DisplayText.Escape(c.Architecture)}, {c.LayerCount} layers, " +
                                $"dim {c.EmbeddingLength}, vocab {c.VocabularySize}, context {model.ContextLength}) loaded in {started.ElapsedMilliseconds} ms");
        return model;
    }

    /// <summary>Reads <c>--text</c>/<c>--prompt</c> or <c>--file</c>, exactly one of them.</summary>
    public static string TextOrFile(string? text, string? file, string textOption, string fileOption = "--file") =>
        (text, file) switch
        {
            (not null, null) => text,
            (null, not null) => File.ReadAllText(file),
            _ => throw new ArgumentException($"give exactly one of {textOption} and {fileOption}"),
        };

    /// <summary>
    /// Checks output <paramref name="path"/> before any work (see <see cref="OutputFile.Check"/>): a regular file or a
    /// new one, in an existing folder, and none of <paramref name="inputs"/>; the message names <paramref name="option"/>.
    /// </summary>
    public static void CheckOutput(string path, string option, params IEnumerable<string?> inputs) =>
        OutputFile.Check(path, option, inputs.OfType<string>());

    /// <summary>
    /// Generated text as it goes to stdout: exact when stdout is redirected (users pipe and compare it), with control
    /// characters escaped but lines and tabs kept when it is a terminal, so that a model cannot drive the terminal.
    /// </summary>
    public static string ForStdout(string text, bool stdoutIsTerminal) =>
        stdoutIsTerminal ? DisplayText.Escape(text, int.MaxValue, keepLineBreaks: true) : text;

    /// <summary>Characters of an error message shown at most: room for several quoted values and paths.</summary>
    private const int MaxMessageLength = 1000;

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
            // Messages quote file names and file contents; escaped again, an already escaped message stays as it is.
            Console.Error.WriteLine($"modelgen: {DisplayText.Escape(e.Message, MaxMessageLength)}");
            return 1;
        }
    }
}
