using System.Diagnostics;
using ModelGen.TestSupport;

namespace ModelGen.Publish.Tests;

/// <summary>
/// The feed <c>eng/pack.sh</c> makes, and <c>ModelGen.Tool</c> installed from it into a folder of its own, once for
/// every test that uses it. Everything lives in one temporary folder outside the repository: the feed, the tool, a
/// working folder whose NuGet.config adds the feed to the machine's sources, NuGet's package folder (so that no
/// package of an earlier run with the same version is served from a cache) and modelgen's cache.
/// </summary>
public sealed class InstalledTool : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("modelgen-tool-").FullName;
    private readonly Dictionary<string, string> _environment;

    public InstalledTool()
    {
        Feed = Path.Combine(_root, "feed");
        WorkingDirectory = Directory.CreateDirectory(Path.Combine(_root, "work")).FullName;
        _environment = new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = Path.Combine(_root, "packages"),
            ["XDG_CACHE_HOME"] = CacheRoot,

            // Build servers would outlive the commands and hold their output open.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_NOLOGO"] = "1",

            // The pack builds the repository in a slot of its own, not over the outputs these tests run from.
            ["ModelGenBuildSlot"] = "tool-tests",
        };

        var pack = Run("bash", [Path.Combine(SharedData.RepositoryRoot, "eng", "pack.sh"), "-o", Feed], TimeSpan.FromMinutes(10));
        Assert.True(pack.ExitCode == 0, $"eng/pack.sh failed:\n{pack.StdOut}\n{pack.StdErr}");
        File.WriteAllText(Path.Combine(WorkingDirectory, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="modelgen-feed" value="{Feed}" />
              </packageSources>
            </configuration>
            """);

        var install = Run("dotnet", ["tool", "install", "--tool-path", Path.Combine(_root, "tools"), "ModelGen.Tool", "--add-source", Feed]);
        Assert.True(install.ExitCode == 0, $"dotnet tool install failed:\n{install.StdOut}\n{install.StdErr}");
        Modelgen = Path.Combine(_root, "tools", "modelgen");
    }

    /// <summary>The folder feed eng/pack.sh wrote.</summary>
    public string Feed { get; }

    /// <summary>The installed tool's command.</summary>
    public string Modelgen { get; }

    /// <summary>A folder outside the repository whose NuGet.config adds <see cref="Feed"/>; commands run there.</summary>
    public string WorkingDirectory { get; }

    /// <summary>modelgen's cache (<c>XDG_CACHE_HOME</c>), where it writes the projects of compiled models.</summary>
    public string CacheRoot => Path.Combine(_root, "cache");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Runs <paramref name="executable"/> in <paramref name="directory"/> (default: <see cref="WorkingDirectory"/>) with this fixture's environment.</summary>
    internal ModelGenProcess.Result Run(string executable, string[] args, TimeSpan? timeout = null, string? directory = null)
    {
        var start = new ProcessStartInfo(executable)
        {
            WorkingDirectory = directory ?? WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in _environment)
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
        var limit = timeout ?? TimeSpan.FromMinutes(6);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{executable} {string.Join(' ', args)} did not finish in {limit.TotalMinutes} minutes");
        }

        return new ModelGenProcess.Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
