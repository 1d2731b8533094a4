using System.Diagnostics;

namespace ModelGen.Cli.Publishing;

/// <summary>
/// What NativeAOT links linux-arm64 executables with on linux-x64: a clang driver that uses Debian's ld.lld, and a
/// sysroot of Debian's arm64 glibc and libgcc. <c>eng/fetch-arm64-toolchain.sh</c> unpacks them the first time they
/// are needed, into the checkout's <c>.cache</c> or, from the installed tool, modelgen's cache folder; nothing is
/// installed on the machine.
/// </summary>
internal sealed class Arm64Toolchain
{
    private Arm64Toolchain(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>The linker driver NativeAOT is given as <c>CppCompilerAndLinker</c>.</summary>
    public string LinkerDriver => Path.Combine(Directory, "aarch64-linux-gnu-clang");

    /// <summary>The root that <c>--sysroot</c> names: arm64 libraries under usr/aarch64-linux-gnu, as Debian's cross packages put them.</summary>
    public string SysRoot => Path.Combine(Directory, "sysroot");

    /// <summary>The toolchain where <paramref name="source"/> keeps it, fetched first if it is not there yet.</summary>
    public static Arm64Toolchain Ensure(ModelGenSource source, string cacheRoot, Action<string>? step = null)
    {
        var (directory, script) = source.Arm64Toolchain(cacheRoot);
        if (!File.Exists(Path.Combine(directory, ".complete")))
        {
            step?.Invoke($"fetching the linux-arm64 toolchain (Debian packages into {directory})");
            Fetch(script, directory);
        }

        return new Arm64Toolchain(directory);
    }

    private static void Fetch(string script, string directory)
    {
        if (!File.Exists(script))
        {
            throw new NotSupportedException($"cross-linking linux-arm64 needs {script}, which is missing");
        }

        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(directory);
        using var process = Process.Start(start) ?? throw new IOException("cannot start bash");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        _ = stdout.Result;
        if (process.ExitCode != 0)
        {
            // The script names what is missing on its last line (apt-get's own error when a package cannot be had).
            var last = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {process.ExitCode}";
            throw new IOException($"cannot set up the linux-arm64 toolchain: {last}");
        }
    }
}
