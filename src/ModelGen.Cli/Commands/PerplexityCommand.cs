using System.CommandLine;
using System.Globalization;
using ModelGen.Runtime.Engine;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen perplexity MODEL -f TEXT [-c CTX]</c>, computed as llama-perplexity computes it.</summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var file = new Option<string>("-f", "--file") { Description = "The text to score", Required = true };
        var context = new Option<int>("-c", "--ctx-size") { Description = "Tokens per chunk", DefaultValueFactory = _ => 512 };
        var threads = CommandLine.Threads();
        var command = new Command("perplexity", "Perplexity of a text: chunks of CTX tokens, second half of each scored") { model, file, context, threads };
        command.SetAction((result, cancellation) => Task.FromResult(CommandLine.Run(() =>
        {
            int ctx = result.GetValue(context);
            using var m = CommandLine.Load(result.GetValue(model), result.GetValue(threads), ctx);
            var tokens = m.Tokenizer.Tokenize(File.ReadAllText(result.GetValue(file)!), addSpecial: true, parseSpecial: false);
            Console.Error.WriteLine($"modelgen: {tokens.Length} tokens, {tokens.Length / ctx} chunks of {ctx}");
            var ppl = Perplexity.Compute(m, tokens, ctx, Progress.ToStderr("perplexity"), cancellation);
            Console.Out.WriteLine(string.Join(',', ppl.ChunkValues.Select((v, i) => string.Create(CultureInfo.InvariantCulture, $"[{i + 1}]{v:0.0000}"))));
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PPL = {ppl.Value:0.0000}"));
        })));
        return command;
    }
}
