using System.CommandLine;
using System.Text;
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
        var file = new Option<string?>("--file") { Description = "A file to tokenize, read as raw bytes (invalid UTF-8 as llama_tokenize takes it)" };
        var bos = new Option<bool>("--bos") { Description = "Add the special tokens the model adds (BOS), as llama_tokenize's add_special" };
        var command = new Command("tokenize", "Print the token ids of a text") { model, text, file, bos };
        command.SetAction(result => CommandLine.Run(() =>
        {
            // A file's bytes go to the tokenizer as they are: decoding them to a string first would turn every
            // invalid UTF-8 sequence into U+FFFD, whose tokens are not the ones llama_tokenize gives for the bytes.
            var input = (result.GetValue(text), result.GetValue(file)) switch
            {
                ({ } t, null) => Encoding.UTF8.GetBytes(t),
                (null, { } f) => File.ReadAllBytes(f),
                _ => throw new ArgumentException("give exactly one of --text and --file"),
            };
            using var gguf = GgufFile.Open(result.GetValue(model) ?? DefaultModel.Path);
            var tokenizer = Tokenizer.FromGguf(gguf.Metadata);
            var ids = new List<int>(input.Length / 3 + 4);
            tokenizer.Tokenize(input, addSpecial: result.GetValue(bos), parseSpecial: true, ids);
            Console.Out.WriteLine(string.Join(' ', ids));
        }));
        return command;
    }
}
