using System.Diagnostics;

namespace ModelGen.Publish.Tests;

/// <summary>
/// Runs <c>modelgen</c> (the build beside the tests) or a published executable, with a model cache of the test's own:
/// compiling models builds projects, which takes minutes, not the two the CLI tests allow.
/// </summary>
internal sealed class ModelGenProcess(string cacheRoot)
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public Result Modelgen(params string[] args) => Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "modelgen.dll"), .. args]);

    /// <summary>Runs <c>modelgen</c> on the JIT with <paramref name="variable"/> set, such as a DOTNET_ knob.</summary>
    public Result Modelgen((string Name, string Value) variable, params string[] args) =>
        Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "modelgen.dll"), .. args], variable);

    public Result Run(string executable, params string[] args) => Run(executable, args, variable: null);

    /// <summary>Runs <paramref name="executable"/> with <paramref name="variable"/> set, such as qemu's QEMU_LD_PREFIX.</summary>
    public Result Run((string Name, string Value) variable, string executable, params string[] args) => Run(executable, args, variable);

    private Result Run(string executable, string[] args, (string Name, string Value)? variable)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["XDG_CACHE_HOME"] = cacheRoot;
        if (variable is var (name, value))
        {
            start.Environment[name] = value;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(6)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{executable} {string.Join(' ', args)} did not finish in 6 minutes");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
