using System.CommandLine;
using System.Diagnostics;
using ModelGen.Cli.Publishing;

namespace ModelGen.Cli.Commands;

/// <summary>
/// <c>modelgen publish MODEL --cpu TARGET [--embed-weights] [-o DIR]</c>: compiles the model into its class and publishes
/// it NativeAOT for one CPU, leaving in DIR an executable named after the model and, unless embedded, its weights.
/// </summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var cpu = new Option<string>("--cpu") { Description = $"The CPU to compile for: {PublishTarget.Names}", DefaultValueFactory = _ => "native" };
        var embed = new Option<bool>("--embed-weights") { Description = "Append the weights to the executable, so that one file ships" };
        var output = new Option<string?>("-o", "--output") { Description = "Where to put the executable (default: ./MODEL-NAME)" };
        var command = new Command("publish", "Compile a model into a native executable for one CPU") { model, cpu, embed, output };
        command.SetAction(result => CommandLine.Run(() =>
        {
            var path = result.GetValue(model) ?? DefaultModel.Path;
            var target = PublishTarget.Parse(result.GetValue(cpu)!);
            target.EnsureBuildable();
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"{path}: no such file");
            }

            var started = Stopwatch.StartNew();
            var project = ModelProject.ForExecutable(path, target, ModelProject.DefaultCacheRoot);
            Console.Error.WriteLine($"modelgen: publishing {Path.GetFileName(path)} NativeAOT for {target.Name} ({project.Directory})");
            var built = project.Publish();

            var directory = Path.GetFullPath(result.GetValue(output) ?? project.AssemblyName);
            Directory.CreateDirectory(directory);
            var executable = Path.Combine(directory, project.AssemblyName);
            File.Copy(built, executable, overwrite: true);
            var weights = Path.Combine(directory, Path.GetFileName(path));
            if (result.GetValue(embed))
            {
                EmbeddedWeights.Append(executable, path);
                File.Delete(weights);
            }
            else if (Path.GetFullPath(path) != weights)
            {
                File.Copy(path, weights, overwrite: true);
            }

            var size = new FileInfo(executable).Length;
            var shipped = result.GetValue(embed) ? "weights embedded" : $"weights beside it in {Path.GetFileName(weights)}";
            Console.Out.WriteLine($"{executable}: {Format.Bytes(size)}, {target.Name} ({target.RuntimeIdentifier}), {shipped}, built in {started.Elapsed.TotalSeconds:0.0} s");
        }));
        return command;
    }
}
