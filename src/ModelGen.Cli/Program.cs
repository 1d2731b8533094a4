using System.CommandLine;
using ModelGen.Cli;
using ModelGen.Gguf;
using ModelGen.Runtime.Synthesis;

var root = new RootCommand("ModelGen: compile a GGUF model into C#, run it, and measure it.");
root.Subcommands.Add(Commands.Inspect());
root.Subcommands.Add(Commands.Synth());
return await root.Parse(args).InvokeAsync();

namespace ModelGen.Cli
{
    internal static class Commands
    {
        public static Command Inspect()
        {
            var file = new Argument<string?>("FILE") { Description = "A .gguf file (default: the embedded default model)", Arity = ArgumentArity.ZeroOrOne };
            var json = new Option<bool>("--json") { Description = "Machine-readable JSON instead of text" };
            var command = new Command("inspect", "Show a GGUF file's metadata, tensors and totals") { file, json };
            command.SetAction(result => Run(() =>
            {
                var path = result.GetValue(file) ?? DefaultModel.Path;
                var header = GgufReader.ReadHeader(path, GgufReadOptions.HeaderOnly);
                if (result.GetValue(json))
                {
                    using var stdout = Console.OpenStandardOutput();
                    InspectCommand.WriteJson(header, stdout);
                    stdout.WriteByte((byte)'\n');
                }
                else
                {
                    InspectCommand.WriteText(header, Console.Out, Console.IsOutputRedirected ? 160 : Math.Max(80, SafeWindowWidth()));
                }
            }));
            return command;
        }

        public static Command Synth()
        {
            var shape = new Option<string>("--shape") { Description = "micro, smol-135m, tinyllama-1.1b, llama-7b or tiny", Required = true };
            var arch = new Option<string>("--arch") { Description = "llama, qwen2 or qwen3", DefaultValueFactory = _ => "llama" };
            var type = new Option<string>("--type") { Description = "Weight type of the matrices (F32, F16)", DefaultValueFactory = _ => "F32" };
            var donor = new Option<string?>("--vocab-from") { Description = "A GGUF whose vocabulary to use (default: the project's own small vocabulary)" };
            var tied = new Option<bool>("--tied") { Description = "Tie the output projection to the token embedding" };
            var seed = new Option<int>("--seed") { Description = "Seed of the random weights", DefaultValueFactory = _ => 1234 };
            var output = new Option<string>("-o", "--output") { Description = "The .gguf file to write", Required = true };
            var command = new Command("synth", "Write a model of a realistic shape with random weights and a real vocabulary")
            {
                shape, arch, type, donor, tied, seed, output,
            };
            command.SetAction(result => Run(() =>
            {
                var options = new SynthesisOptions
                {
                    Shape = ModelShape.Parse(result.GetValue(shape)!),
                    Architecture = result.GetValue(arch)!,
                    WeightType = ParseType(result.GetValue(type)!),
                    VocabularyDonor = result.GetValue(donor),
                    TiedEmbeddings = result.GetValue(tied),
                    Seed = result.GetValue(seed),
                };
                var path = result.GetValue(output)!;
                var started = System.Diagnostics.Stopwatch.StartNew();
                ModelSynthesizer.Write(options, path, progress: Progress.ToStderr("synth"));
                Console.Error.WriteLine($"wrote {path} ({Format.Bytes(new FileInfo(path).Length)}) in {started.Elapsed.TotalSeconds:0.0} s");
            }));
            return command;
        }

        private static GgmlType ParseType(string name) =>
            Enum.TryParse<GgmlType>(name, ignoreCase: true, out var t) ? t : throw new ArgumentException($"unknown tensor type '{name}'");

        /// <summary>Runs a command body; bad input becomes one line on stderr and exit code 1, never a stack trace.</summary>
        private static int Run(Action body)
        {
            try
            {
                body();
                return 0;
            }
            catch (Exception e) when (e is GgufFormatException or IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or NotSupportedException)
            {
                Console.Error.WriteLine($"modelgen: {e.Message}");
                return 1;
            }
        }

        private static int SafeWindowWidth()
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
}
