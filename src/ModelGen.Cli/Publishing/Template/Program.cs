using System.Diagnostics;
using System.Globalization;
using ModelGen.Cli;
using ModelGen.Cli.Publishing;
using ModelGen.Gguf;
using ModelGen.Runtime.Benchmarking;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;

namespace ModelGen.Published;

/// <summary>
/// The entry point <c>modelgen publish</c> builds around a compiled model (<see cref="CompiledModel"/>): continue a prompt,
/// write its logits, or measure the model. The weights are the file named as the model beside the executable, or the
/// executable itself when they were embedded.
/// </summary>
internal static class Program
{
    // What reaches the terminal from the model file (its name, messages quoting it, generated text) is escaped.
    private static readonly string Name = DisplayText.Escape(Path.GetFileNameWithoutExtension(Environment.ProcessPath) ?? CompiledModel.ModelName);

    private static string Usage =>
        $"usage: {Name} -p PROMPT [-n N] [--temp T] [--seed S] [-t THREADS] [--logits OUT.npy]\n" +
        $"       {Name} --bench [--n-prompt P] [-n N] [-r REPETITIONS] [-t THREADS]";

    public static int Main(string[] args)
    {
        try
        {
            var arguments = Arguments.Parse(args);
            if (arguments is null)
            {
                Console.Out.WriteLine(Usage);
                return 0;
            }

            using var model = Load(arguments.Threads);
            if (arguments.Bench)
            {
                Bench(model, arguments);
            }
            else if (arguments.LogitsPath is not null)
            {
                WriteLogits(model, arguments.Prompt!, arguments.LogitsPath);
            }
            else
            {
                Generate(model, arguments);
            }

            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or GgufFormatException
                                      or UnsupportedModelException or PromptTooLongException)
        {
            Console.Error.WriteLine($"{Name}: {DisplayText.Escape(e.Message, 1000)}");
            return 1;
        }
    }

    private static CompiledModel Load(int threads)
    {
        var started = Stopwatch.StartNew();
        var executable = Environment.ProcessPath ?? throw new IOException("cannot find this executable's path");
        var file = EmbeddedWeights.Find(executable) is (long offset, long length)
            ? GgufFile.Open(executable, offset, length)
            : GgufFile.Open(Path.Combine(AppContext.BaseDirectory, CompiledModel.SourceFileName));
        var model = CompiledModel.Load(file, threads);
        Console.Error.WriteLine($"{Name}: {DisplayText.Escape(CompiledModel.ModelName)} ({CompiledModel.LayerCount} blocks, dim {CompiledModel.EmbeddingLength}, " +
                                $"vocab {CompiledModel.VocabularySize}) loaded in {started.ElapsedMilliseconds} ms");
        return model;
    }

    private static void Generate(CompiledModel model, Arguments arguments)
    {
        var options = new GenerationOptions
        {
            MaxTokens = arguments.Tokens,
            Sampling = new SamplingOptions { Temperature = arguments.Temperature, Seed = arguments.Seed },
        };
        bool first = true, terminal = !Console.IsOutputRedirected;
        foreach (var piece in model.Generator.Generate(arguments.Prompt!, options))
        {
            Console.Out.Write(terminal ? DisplayText.Escape(piece, int.MaxValue, keepLineBreaks: true) : piece);
            Console.Out.Flush();
            if (first)
            {
                first = false;
                var sinceStart = DateTime.Now - Process.GetCurrentProcess().StartTime;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Name}: first token {sinceStart.TotalMilliseconds:0} ms after the process started"));
            }
        }

        Console.Out.WriteLine();
        Console.Error.WriteLine($"{Name}: {model.Generator.Statistics}");
    }

    /// <summary>As <c>modelgen logits</c>: float32 logits of every prompt position, then the prompt's tokens on stdout.</summary>
    private static void WriteLogits(CompiledModel model, string prompt, string path)
    {
        var tokens = model.Generator.TokenizePrompt(prompt);
        if (tokens.Length > CompiledModel.CacheLength)
        {
            throw new PromptTooLongException(tokens.Length, CompiledModel.CacheLength);
        }

        var logits = new float[(long)tokens.Length * CompiledModel.VocabularySize];
        for (int start = 0; start < tokens.Length; start += CompiledModel.MaxBatchSize)
        {
            var batch = tokens.AsSpan(start, Math.Min(CompiledModel.MaxBatchSize, tokens.Length - start));
            model.Forward(batch, start, allLogits: true).CopyTo(logits.AsSpan(start * CompiledModel.VocabularySize));
        }

        Npy.WriteFloat32(path, logits, tokens.Length, CompiledModel.VocabularySize);
        Console.Out.WriteLine(string.Join(' ', tokens));
    }

    private static void Bench(CompiledModel model, Arguments arguments)
    {
        // The prompt and the generated tokens must fit the compiled cache together.
        int generated = Math.Min(arguments.Tokens, CompiledModel.CacheLength / 2);
        int prompt = Math.Min(arguments.BenchPromptTokens, CompiledModel.CacheLength - generated - 1);
        using var engine = new ForwardPassEngine(Name, model, model);
        var result = EngineBenchmark.Run(engine, prompt, generated, arguments.Repetitions);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Name}: pp{prompt} {result.Prefill} tok/s, tg{generated} {result.Decode} tok/s"));
    }

    private sealed record Arguments
    {
        public string? Prompt { get; private init; }

        public int Tokens { get; private init; } = 128;

        public float Temperature { get; private init; } = 0.8f;

        public int? Seed { get; private init; }

        public int Threads { get; private init; }

        public string? LogitsPath { get; private init; }

        public bool Bench { get; private init; }

        public int BenchPromptTokens { get; private init; } = 512;

        public int Repetitions { get; private init; } = 5;

        /// <summary>The parsed command line, or null when help was asked for.</summary>
        public static Arguments? Parse(string[] args)
        {
            var parsed = new Arguments();
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value\n{Usage}");
                int Integer() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0
                    ? n : throw new ArgumentException($"{args[i - 1]} takes a non-negative integer, not '{args[i]}'");
                parsed = args[i] switch
                {
                    "-h" or "--help" => null,
                    "-p" or "--prompt" => parsed with { Prompt = Value() },
                    "-n" or "--n-predict" => parsed with { Tokens = Integer() },
                    "--temp" => parsed with
                    {
                        Temperature = float.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out float t) && t >= 0
                            ? t : throw new ArgumentException($"--temp takes a non-negative number, not '{args[i]}'"),
                    },
                    "--seed" => parsed with { Seed = Integer() },
                    "-t" or "--threads" => parsed with { Threads = Integer() },
                    "--logits" => parsed with { LogitsPath = Value() },
                    "--bench" => parsed with { Bench = true },
                    "--n-prompt" => parsed with { BenchPromptTokens = Integer() },
                    "-r" or "--repetitions" => parsed with { Repetitions = Math.Max(1, Integer()) },
                    _ => throw new ArgumentException($"unknown argument '{args[i]}'\n{Usage}"),
                };
                if (parsed is null)
                {
                    return null;
                }
            }

            return parsed.Prompt is not null || parsed.Bench ? parsed : throw new ArgumentException($"give -p PROMPT or --bench\n{Usage}");
        }
    }
}
