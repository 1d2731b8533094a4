using System.CommandLine;
using ModelGen.Gguf;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen tokenize MODEL (--text T | --file F) [--bos]</c>: token ids, space separated, on one line.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var text = new Option<string?>("--text") { Description = "The text to tokenize" };
        var file = new Option<string?>("--file") { Description = "A UTF-8 file to tokenize" };
        var bos = new Option<bool>("--bos") { Description = "Add the special tokens the model adds (BOS), as llama_tokenize's add_special" };
        var command = new Command("tokenize", "Print the token ids of a text") { model, text, file, bos };
        command.SetAction(result => CommandLine.Run(() =>
        {
            var input = CommandLine.TextOrFile(result.GetValue(text), result.GetValue(file), "--text");
            using var gguf = GgufFile.Open(result.GetValue(model) ?? DefaultModel.Path);
            var tokenizer = Tokenizer.FromGguf(gguf.Metadata);
            var ids = tokenizer.Tokenize(input, addSpecial: result.GetValue(bos), parseSpecial: true);
            Console.Out.WriteLine(string.Join(' ', ids));
        }));
        return command;
    }
}
