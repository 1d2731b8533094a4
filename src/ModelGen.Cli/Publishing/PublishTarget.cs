using System.Runtime.InteropServices;

namespace ModelGen.Cli.Publishing;

/// <summary>A CPU that <c>modelgen publish</c> compiles for: a runtime identifier and NativeAOT's instruction set.</summary>
/// <param name="Name">The name on the command line.</param>
/// <param name="RuntimeIdentifier">The .NET runtime identifier.</param>
/// <param name="InstructionSet">ILCompiler's <c>IlcInstructionSet</c>; null for the architecture's baseline.</param>
internal sealed record PublishTarget(string Name, string RuntimeIdentifier, string? InstructionSet)
{
    /// <summary>The CPUs, with ILCompiler's names for their instruction sets (`ilc --help` lists them).</summary>
    public static IReadOnlyList<PublishTarget> All { get; } =
    [
        new("native", HostRuntimeIdentifier, "native"),
        new("x86-64-v2", "linux-x64", "x86-64-v2"),
        new("x86-64-v3", "linux-x64", "x86-64-v3"),
        new("x86-64-v4", "linux-x64", "x86-64-v4"),
        new("linux-arm64", "linux-arm64", null),
    ];

    public static string Names => string.Join(", ", All.Select(target => target.Name));

    private static string HostRuntimeIdentifier => RuntimeInformation.RuntimeIdentifier;

    public static PublishTarget Parse(string name) =>
        All.FirstOrDefault(target => target.Name == name) ?? throw new ArgumentException($"unknown CPU '{name}' ({Names})");

    /// <summary>
    /// Refuses a target this machine cannot link. NativeAOT compiles for any architecture, but linking for another one
    /// needs that architecture's linker and system libraries (a sysroot), which this tool does not set up.
    /// </summary>
    public void EnsureBuildable()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new NotSupportedException("modelgen publish builds Linux executables on Linux only");
        }

        if (RuntimeIdentifier != HostRuntimeIdentifier)
        {
            throw new NotSupportedException(
                $"--cpu {Name} targets {RuntimeIdentifier}, and this machine is {HostRuntimeIdentifier}: NativeAOT cannot cross-link " +
                $"without a {RuntimeIdentifier} linker and sysroot; publish on a {RuntimeIdentifier} machine instead");
        }
    }
}
