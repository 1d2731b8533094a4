using System.Diagnostics;

namespace ModelGen.TestSupport;

/// <summary>Runs the built <c>modelgen</c> tool as a separate process, as a user would.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs <c>modelgen</c> (the assembly beside the test assembly) with <paramref name="args"/>.</summary>
    public static Result Run(params string[] args) => RunWithInput("", args);

    /// <summary>Runs <c>modelgen</c> with <paramref name="input"/> on its standard input.</summary>
    public static Result RunWithInput(string input, params string[] args) => RunWithEnvironment(new Dictionary<string, string>(), input, args);

    /// <summary>Runs <c>modelgen</c> with <paramref name="environment"/> added to its environment variables.</summary>
    public static Result RunWithEnvironment(IReadOnlyDictionary<string, string> environment, string input, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "modelgen.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"modelgen {string.Join(' ', args)} did not finish in 2 minutes");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
