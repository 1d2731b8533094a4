using System.CommandLine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;

namespace ModelGen.Cli.Commands;

/// <summary>
/// <c>modelgen run [MODEL] (-p PROMPT | -p - | -f FILE) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p M] [--seed S]
/// [-t THREADS] [-c CTX]</c>.
/// </summary>
internal static class RunCommand
{
    /// <summary>Prompts longer than this many tokens show the progress of their prefill.</summary>
    private const int PrefillProgressThreshold = 256;

    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var prompt = new Option<string?>("-p", "--prompt") { Description = "The text to continue; - reads it from stdin" };
        var file = new Option<string?>("-f", "--file") { Description = "A UTF-8 file holding the text to continue" };
        var tokens = new Option<int>("-n", "--n-predict") { Description = "Tokens to generate at most; -1 until the context is full", DefaultValueFactory = _ => 128 }
            .Allow(n => n >= -1, "-1 (until the context is full) or at least 0");
        var sampling = new SamplingArguments();
        var threads = CommandLine.Threads();
        var context = CommandLine.Context();
        var command = new Command("run", "Continue a prompt, streaming the text to stdout") { model, prompt, file, tokens, threads, context };
        sampling.AddTo(command);
        command.SetAction((result, cancellation) => Task.FromResult(CommandLine.Run(() =>
        {
            var text = result.GetValue(prompt) == "-" && result.GetValue(file) is null
                ? Console.In.ReadToEnd()
                : CommandLine.TextOrFile(result.GetValue(prompt), result.GetValue(file), "-p", "-f");
            using var m = CommandLine.LoadForGeneration(result.GetValue(model), result.GetValue(threads), result.GetValue(context));
            var options = new GenerationOptions
            {
                MaxTokens = result.GetValue(tokens),
                Sampling = sampling.Read(result),
                StopStrings = sampling.StopStrings(result),
                PrefillProgress = Progress.PrefillToStderr(PrefillProgressThreshold),
            };
            bool terminal = !Console.IsOutputRedirected;
            foreach (var piece in m.Generator.Generate(text, options, cancellation))
            {
                Console.Out.Write(CommandLine.ForStdout(piece, terminal));
                Console.Out.Flush();
            }

            Console.Out.WriteLine();
            Console.Error.WriteLine($"modelgen: {m.Generator.Statistics}");
            if (m.Generator.Statistics.StopReason == GenerationStopReason.ContextFull)
            {
                Console.Error.WriteLine($"modelgen: stopped: the context ({m.Generator.Model.ContextLength} tokens) is full");
            }
        })));
        return command;
    }
}

/// <summary>The sampling options <c>run</c> and <c>chat</c> share, named as llama.cpp's tools name them.</summary>
internal sealed class SamplingArguments
{
    /// <summary>Largest penalty accepted: the OpenAI API's range for frequency and presence, ample for repetition.</summary>
    private const float MaxPenalty = 2f;

    private readonly Option<float> _temperature = new Option<float>("--temp") { Description = "Temperature, at least 0; 0 is greedy", DefaultValueFactory = _ => 0.8f }
        .Allow(t => float.IsFinite(t) && t >= 0, "a finite number at least 0");
    private readonly Option<int> _topK = new Option<int>("--top-k") { Description = "Top-k sampling, at least 0; 0 disables", DefaultValueFactory = _ => 40 }
        .Allow(k => k >= 0, "at least 0");
    private readonly Option<float> _topP = new Option<float>("--top-p") { Description = "Top-p sampling, 0 to 1; 1 disables", DefaultValueFactory = _ => 0.95f }
        .Allow(p => p is >= 0 and <= 1, "between 0 and 1");
    private readonly Option<float> _minP = new Option<float>("--min-p") { Description = "Min-p sampling, 0 to 1; 0 disables", DefaultValueFactory = _ => 0.05f }
        .Allow(p => p is >= 0 and <= 1, "between 0 and 1");
    private readonly Option<float> _repeat = new Option<float>("--repeat-penalty") { Description = $"Repetition penalty, above 0 up to {MaxPenalty}; 1 disables", DefaultValueFactory = _ => 1.0f }
        .Allow(p => p is > 0 and <= MaxPenalty, $"above 0 and at most {MaxPenalty}");
    private readonly Option<float> _frequency = new Option<float>("--frequency-penalty") { Description = $"Frequency penalty, -{MaxPenalty} to {MaxPenalty}; 0 disables" }
        .Allow(p => p is >= -MaxPenalty and <= MaxPenalty, $"between -{MaxPenalty} and {MaxPenalty}");
    private readonly Option<float> _presence = new Option<float>("--presence-penalty") { Description = $"Presence penalty, -{MaxPenalty} to {MaxPenalty}; 0 disables" }
        .Allow(p => p is >= -MaxPenalty and <= MaxPenalty, $"between -{MaxPenalty} and {MaxPenalty}");
    private readonly Option<int?> _seed = new("--seed") { Description = "Seed for reproducible sampling" };
    private readonly Option<string[]> _stop = new Option<string[]>("--stop") { Description = "Stop when this text is generated (repeatable; not empty)" }
        .Allow(stops => stops.All(s => s.Length > 0), "a non-empty text");

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _temperature, _topK, _topP, _minP, _repeat, _frequency, _presence, _seed, _stop })
        {
            command.Options.Add(option);
        }
    }

    public SamplingOptions Read(ParseResult result) => new()
    {
        Temperature = result.GetValue(_temperature),
        TopK = result.GetValue(_topK),
        TopP = result.GetValue(_topP),
        MinP = result.GetValue(_minP),
        RepetitionPenalty = result.GetValue(_repeat),
        FrequencyPenalty = result.GetValue(_frequency),
        PresencePenalty = result.GetValue(_presence),
        Seed = result.GetValue(_seed),
    };

    public IReadOnlyList<string> StopStrings(ParseResult result) => result.GetValue(_stop) ?? [];
}
