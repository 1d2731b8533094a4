using System.CommandLine;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;

namespace ModelGen.Cli.Commands;

/// <summary><c>modelgen synth --shape S [--arch A] --type T [--vocab-from DONOR] -o OUT</c>.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var shape = new Option<string>("--shape") { Description = "micro, smol-135m, tinyllama-1.1b, llama-7b or tiny", Required = true };
        var arch = new Option<string>("--arch") { Description = string.Join(", ", ModelGen.Runtime.Engine.ModelConfig.SupportedArchitectures), DefaultValueFactory = _ => "llama" };
        var type = new Option<string>("--type") { Description = "Weight type of the matrices", DefaultValueFactory = _ => "F32" };
        var donor = new Option<string?>("--vocab-from") { Description = "A GGUF whose vocabulary to use (default: the project's own small vocabulary)" };
        var tied = new Option<bool>("--tied") { Description = "Tie the output projection to the token embedding" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => 1234 };
        var output = new Option<string>("-o", "--output") { Description = "The .gguf file to write", Required = true };
        var command = new Command("synth", "Write a model of a realistic shape with random weights and a real vocabulary")
        {
            shape, arch, type, donor, tied, seed, output,
        };
        command.SetAction(result => CommandLine.Run(() =>
        {
            var options = new SynthesisOptions
            {
                Shape = ModelShape.Parse(result.GetValue(shape)!),
                Architecture = result.GetValue(arch)!,
                WeightType = Enum.TryParse<GgmlType>(result.GetValue(type), ignoreCase: true, out var t) ? t : throw new ArgumentException($"unknown tensor type '{result.GetValue(type)}'"),
                VocabularyDonor = result.GetValue(donor),
                TiedEmbeddings = result.GetValue(tied),
                Seed = result.GetValue(seed),
            };
            var path = result.GetValue(output)!;
            CommandLine.CheckOutput(path, "-o", options.VocabularyDonor);
            var started = System.Diagnostics.Stopwatch.StartNew();
            ModelSynthesizer.Write(options, path, progress: Progress.ToStderr("synth"));
            Console.Error.WriteLine($"wrote {path} ({Format.Bytes(new FileInfo(path).Length)}) in {started.Elapsed.TotalSeconds:0.0} s");
        }));
        return command;
    }
}
