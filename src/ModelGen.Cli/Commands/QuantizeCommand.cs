using System.CommandLine;
using ModelGen.Gguf;
using ModelGen.Runtime.Quantization;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen quantize IN OUT TYPE [-t N]</c>: llama-quantize's result, byte for byte, without an importance matrix.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("IN") { Description = "A float model (F32, F16 or BF16 tensors)" }.NotAnOption();
        var output = new Argument<string>("OUT") { Description = "The .gguf file to write (a symbolic link is followed; the file it names is replaced)" }.NotAnOption();
        var type = new Argument<string>("TYPE") { Description = string.Join(", ", QuantizationTypes.All) };
        var threads = CommandLine.Threads();
        var command = new Command("quantize", "Quantize a model as llama-quantize does: the same tensor types and the same bytes")
        {
            input, output, type, threads,
        };
        command.SetAction(result => CommandLine.Run(() =>
        {
            // Parsed before anything is read, so a mistyped TYPE costs nothing.
            var quantization = QuantizationTypes.Parse(result.GetValue(type)!);
            var (from, to) = (result.GetValue(input)!, result.GetValue(output)!);
            CommandLine.CheckOutput(to, "OUT", from);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var plan = ModelQuantizer.Quantize(from, to, quantization, Progress.ToStderr("quantize"), result.GetValue(threads));
            var types = plan.GroupBy(t => t.Type).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key.Info().Name}");
            Console.Error.WriteLine($"wrote {to} ({Format.Bytes(new FileInfo(from).Length)} -> {Format.Bytes(new FileInfo(to).Length)}; " +
                                    $"tensors: {string.Join(", ", types)}) in {started.Elapsed.TotalSeconds:0.0} s");
        }));
        return command;
    }
}
