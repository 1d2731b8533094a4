using System.CommandLine;
using System.Diagnostics;
using ModelGen.Cli.Publishing;
using ModelGen.Gguf;

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

            // Where the results go is checked before the build, which takes minutes.
            var directory = Path.GetFullPath(result.GetValue(output) ?? Path.GetFileNameWithoutExtension(path));
            if (File.Exists(directory))
            {
                throw new IOException($"-o: {DisplayText.Escape(directory)} is a file; give a folder to put the executable in");
            }

            var executable = Path.Combine(directory, Path.GetFileNameWithoutExtension(path));
            var weights = Path.Combine(directory, Path.GetFileName(path));
            bool embedded = result.GetValue(embed), weightsInPlace = OutputFile.IsSameFile(weights, path);
            if (Directory.Exists(directory))
            {
                CommandLine.CheckOutput(executable, "-o", path);
                if (!embedded && !weightsInPlace)
                {
                    CommandLine.CheckOutput(weights, "-o", path);
                }
            }

            var started = Stopwatch.StartNew();
            var step = Progress.StepsToStderr("publish");
            var source = ModelGenSource.OfThisModelgen;
            var toolchain = target.IsCrossArm64 ? Arm64Toolchain.Ensure(source, ModelProject.DefaultCacheRoot, step) : null;
            step("writing the project");
            var project = ModelProject.ForExecutable(path, target, ModelProject.DefaultCacheRoot, source, toolchain);
            Console.Error.WriteLine($"modelgen: publishing {DisplayText.Escape(Path.GetFileName(path))} NativeAOT for {target.Name} ({DisplayText.Escape(project.Directory)})");
            var built = project.Publish(step);

            step(embedded ? "writing the executable with the weights appended" : "writing the executable and copying the weights");
            Directory.CreateDirectory(directory);
            OutputFile.Write(executable, (string temporary) =>
            {
                File.Copy(built, temporary, overwrite: true);
                if (!OperatingSystem.IsWindows())
                {
                    // The temporary file was created empty, with a data file's permissions; an executable needs its own.
                    File.SetUnixFileMode(temporary, File.GetUnixFileMode(built));
                }

                if (embedded)
                {
                    EmbeddedWeights.Append(temporary, path);
                }
            });
            if (embedded && !weightsInPlace)
            {
                // A copy from an earlier publish without embedding would be stale beside the new executable.
                File.Delete(weights);
            }
            else if (!embedded && !weightsInPlace)
            {
                OutputFile.Write(weights, (string temporary) => File.Copy(path, temporary, overwrite: true));
            }

            var size = new FileInfo(executable).Length;
            var shipped = embedded ? "weights embedded" : $"weights beside it in {DisplayText.Escape(Path.GetFileName(weights))}";
            Console.Out.WriteLine($"{DisplayText.Escape(executable)}: {Format.Bytes(size)}, {target.Name} ({target.RuntimeIdentifier}), {shipped}, built in {started.Elapsed.TotalSeconds:0.0} s");
        }));
        return command;
    }
}
