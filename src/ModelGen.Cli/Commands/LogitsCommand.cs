using System.CommandLine;

namespace ModelGen.Cli.Commands;

/// <summary>
/// <c>modelgen logits MODEL (--prompt T | --file F) -o OUT.npy</c>: float32 logits of every position, [tokens, vocab],
/// for comparing engines. Tokenizes as <c>llama_tokenize</c> with add_special and parse_special on.
/// </summary>
internal static class LogitsCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var prompt = new Option<string?>("--prompt") { Description = "The text to evaluate" };
        var file = new Option<string?>("--file") { Description = "A UTF-8 file to evaluate" };
        var output = new Option<string>("-o", "--output") { Description = "The .npy file to write", Required = true };
        var threads = CommandLine.Threads();
        var command = new Command("logits", "Write the logits of every prompt position as a NumPy .npy array") { model, prompt, file, output, threads };
        command.SetAction(result => CommandLine.Run(() =>
        {
            var text = CommandLine.TextOrFile(result.GetValue(prompt), result.GetValue(file), "--prompt");
            CommandLine.CheckOutput(result.GetValue(output)!, "-o", result.GetValue(model) ?? DefaultModel.Path, result.GetValue(file));
            using var m = CommandLine.Load(result.GetValue(model), result.GetValue(threads), context: 0);
            var tokens = m.Generator.TokenizePrompt(text);
            var logits = m.EvaluateAll(tokens);
            Npy.WriteFloat32(result.GetValue(output)!, logits, tokens.Length, m.VocabularySize);
            Console.Out.WriteLine(string.Join(' ', tokens));
        }));
        return command;
    }
}
