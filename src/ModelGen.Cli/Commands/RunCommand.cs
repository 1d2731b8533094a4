using System.CommandLine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen run [MODEL] -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p M] [--seed S] [-t THREADS] [-c CTX]</c>.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var prompt = new Option<string>("-p", "--prompt") { Description = "The text to continue", Required = true };
        var tokens = new Option<int>("-n", "--n-predict") { Description = "Tokens to generate at most", DefaultValueFactory = _ => 128 };
        var sampling = new SamplingArguments();
        var threads = CommandLine.Threads();
        var context = CommandLine.Context();
        var command = new Command("run", "Continue a prompt, streaming the text to stdout") { model, prompt, tokens, threads, context };
        sampling.AddTo(command);
        command.SetAction((result, cancellation) => Task.FromResult(CommandLine.Run(() =>
        {
            using var m = CommandLine.LoadForGeneration(result.GetValue(model), result.GetValue(threads), result.GetValue(context));
            var options = new GenerationOptions
            {
                MaxTokens = result.GetValue(tokens),
                Sampling = sampling.Read(result),
                StopStrings = sampling.StopStrings(result),
            };
            foreach (var piece in m.Generator.Generate(result.GetValue(prompt)!, options, cancellation))
            {
                Console.Out.Write(piece);
                Console.Out.Flush();
            }

            Console.Out.WriteLine();
            Console.Error.WriteLine($"modelgen: {m.Generator.Statistics}");
        })));
        return command;
    }
}

/// <summary>The sampling options <c>run</c> and <c>chat</c> share, named as llama.cpp's tools name them.</summary>
internal sealed class SamplingArguments
{
    private readonly Option<float> _temperature = new("--temp") { Description = "Temperature; 0 is greedy", DefaultValueFactory = _ => 0.8f };
    private readonly Option<int> _topK = new("--top-k") { Description = "Top-k sampling; 0 disables", DefaultValueFactory = _ => 40 };
    private readonly Option<float> _topP = new("--top-p") { Description = "Top-p sampling; 1 disables", DefaultValueFactory = _ => 0.95f };
    private readonly Option<float> _minP = new("--min-p") { Description = "Min-p sampling; 0 disables", DefaultValueFactory = _ => 0.05f };
    private readonly Option<float> _repeat = new("--repeat-penalty") { Description = "Repetition penalty; 1 disables", DefaultValueFactory = _ => 1.0f };
    private readonly Option<float> _frequency = new("--frequency-penalty") { Description = "Frequency penalty; 0 disables" };
    private readonly Option<float> _presence = new("--presence-penalty") { Description = "Presence penalty; 0 disables" };
    private readonly Option<int?> _seed = new("--seed") { Description = "Seed for reproducible sampling" };
    private readonly Option<string[]> _stop = new("--stop") { Description = "Stop when this text is generated (repeatable)" };

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
