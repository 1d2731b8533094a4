using System.CommandLine;
using ModelGen.Gguf;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen inspect [FILE] [--json]</c>.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("FILE") { Description = "A .gguf file (default: the embedded default model)", Arity = ArgumentArity.ZeroOrOne }.NotAnOption();
        var json = new Option<bool>("--json") { Description = "Machine-readable JSON instead of text" };
        var command = new Command("inspect", "Show a GGUF file's metadata, tensors and totals") { file, json };
        command.SetAction(result => CommandLine.Run(() =>
        {
            var header = GgufReader.ReadHeader(result.GetValue(file) ?? DefaultModel.Path, GgufReadOptions.HeaderOnly);
            if (result.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                InspectReport.WriteJson(header, stdout);
                stdout.WriteByte((byte)'\n');
            }
            else
            {
                InspectReport.WriteText(header, Console.Out, Console.IsOutputRedirected ? 160 : Math.Max(80, WindowWidth()));
            }
        }));
        return command;
    }

    private static int WindowWidth()
    {
        try
        {
            return Console.WindowWidth;
        }
        catch (IOException)
        {
            return 120;
        }
    }
}
