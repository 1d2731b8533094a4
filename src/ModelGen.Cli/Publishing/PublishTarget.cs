using System.Runtime.InteropServices;

namespace ModelGen.Cli.Publishing;

/// <summary>A CPU that <c>modelgen publish</c> compiles for: a runtime identifier and NativeAOT's instruction set.</summary>
/// <param name="Name">The name on the command line.</param>
/// <param name="RuntimeIdentifier">The .NET runtime identifier.</param>
/// <param name="InstructionSet">ILCompiler's <c>IlcInstructionSet</c>: a CPU group or instruction sets, as <c>ilc --help</c> lists them.</param>
internal sealed record PublishTarget(string Name, string RuntimeIdentifier, string InstructionSet)
{
    /// <summary>
    /// The CPUs. The arm64 baseline is every ARMv8.0-A core (Cortex-A53, Raspberry Pi 3); dot product comes with
    /// ARMv8.2-A's Cortex-A55/A75/A76, Neoverse N1 (Graviton2) and later, where ILCompiler lists it as its own set.
    /// </summary>
    public static IReadOnlyList<PublishTarget> All { get; } =
    [
        new("native", HostRuntimeIdentifier, "native"),
        new("x86-64-v2", "linux-x64", "x86-64-v2"),
        new("x86-64-v3", "linux-x64", "x86-64-v3"),
        new("x86-64-v4", "linux-x64", "x86-64-v4"),
        new("linux-arm64", "linux-arm64", "armv8-a"),
        new("linux-arm64-dotprod", "linux-arm64", "armv8.2-a,dotprod"),
    ];

    public static string Names => string.Join(", ", All.Select(target => target.Name));

    private static string HostRuntimeIdentifier => RuntimeInformation.RuntimeIdentifier;

    /// <summary>
    /// Whether executables for this target need dot product (sdot/udot), which ILCompiler then compiles in unconditionally:
    /// they are linked with a start-up check that names it on a core without it.
    /// </summary>
    public bool RequiresDotProduct => InstructionSet.Split(',').Contains("dotprod");

    /// <summary>Whether this target is linked with the linux-arm64 cross toolchain rather than the machine's own linker.</summary>
    public bool IsCrossArm64 => RuntimeIdentifier == "linux-arm64" && HostRuntimeIdentifier == "linux-x64";

    public static PublishTarget Parse(string name) =>
        All.FirstOrDefault(target => target.Name == name) ?? throw new ArgumentException($"unknown CPU '{name}' ({Names})");

    /// <summary>
    /// Refuses a target this machine cannot link. NativeAOT compiles for any architecture, but linking for another one
    /// needs that architecture's linker and system libraries (a sysroot): this tool sets them up for linux-arm64 on
    /// linux-x64 only (<see cref="Arm64Toolchain"/>).
    /// </summary>
    public void EnsureBuildable()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new NotSupportedException("modelgen publish builds Linux executables on Linux only");
        }

        if (RuntimeIdentifier != HostRuntimeIdentifier && !IsCrossArm64)
        {
            throw new NotSupportedException(
                $"--cpu {Name} targets {RuntimeIdentifier}, and this machine is {HostRuntimeIdentifier}: modelgen cross-links only " +
                $"linux-arm64 on linux-x64; publish on a {RuntimeIdentifier} machine instead");
        }
    }
}
