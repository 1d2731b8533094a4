using System.CommandLine;
using ModelGen.Runtime.Chat;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen chat [MODEL]</c>: an interactive session with the model's chat template (or plain text).</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var system = new Option<string?>("--system") { Description = "A system prompt" };
        var tokens = new Option<int>("-n", "--n-predict") { Description = "Tokens per reply at most", DefaultValueFactory = _ => 256 };
        var sampling = new SamplingArguments();
        var threads = CommandLine.Threads();
        var context = CommandLine.Context();
        var command = new Command("chat", "Chat with a model; an empty line or end of input quits") { model, system, tokens, threads, context };
        sampling.AddTo(command);
        command.SetAction((result, cancellation) => Task.FromResult(CommandLine.Run(() =>
        {
            using var m = CommandLine.LoadForGeneration(result.GetValue(model), result.GetValue(threads), result.GetValue(context));
            var template = ChatTemplate.Detect(m.ChatTemplate);
            Console.Error.WriteLine($"modelgen: chat template {template.Name}; an empty line or end of input quits");
            var session = new ChatSession(m.Generator, template, result.GetValue(system));
            var options = new GenerationOptions { MaxTokens = result.GetValue(tokens), Sampling = sampling.Read(result), StopStrings = sampling.StopStrings(result) };
            while (true)
            {
                Console.Error.Write("> ");
                var line = Console.In.ReadLine();
                if (string.IsNullOrWhiteSpace(line))
                {
                    return;
                }

                foreach (var piece in session.Send(line, options, cancellation))
                {
                    Console.Out.Write(piece);
                    Console.Out.Flush();
                }

                Console.Out.WriteLine();
            }
        })));
        return command;
    }
}
