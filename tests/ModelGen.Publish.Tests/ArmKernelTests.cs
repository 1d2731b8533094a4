using System.Reflection;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Publish.Tests;

/// <summary>
/// The kernels' arm64 paths (AdvSimd, and <c>sdot</c> where the core has dot product), run under qemu-aarch64 by
/// tests/ModelGen.Kernels.ArmCheck: every kernel against its scalar reference (the x64 kernel tests tie the scalar
/// references to ggml), then against the x64 JIT's 128-bit path bit for bit.
/// </summary>
[Collection(NativeAotPublishes.Name)]
public sealed class ArmKernelTests(ArmKernelCheck check, ITestOutputHelper output) : IClassFixture<ArmKernelCheck>
{
    // The build is for ARMv8.0-A and looks for dot product at run time: qemu's max has it, a Cortex-A53 does not.
    [Theory]
    [InlineData("max", true)]
    [InlineData("cortex-a53", false)]
    public void Every_kernel_agrees_with_its_scalar_reference_and_with_x64(string cpu, bool dotProduct)
    {
        var arm = check.RunArm64(cpu);
        Assert.StartsWith($"cpu Arm64 path=Vector128 advsimd=True dotprod={dotProduct}", arm.Header);
        foreach (var line in arm.Checks.Values)
        {
            output.WriteLine(line.Text);
        }

        Assert.All(arm.Checks.Values, line => Assert.True(line.Ok, line.Text));

        // Integer steps are exact on both, conversions and quantizers exact, and the float steps the same IEEE
        // operations in the same order, fused multiply-adds included: so every result is the x64 path's, bit for bit.
        var x64 = check.RunX64();
        Assert.StartsWith("cpu X64 path=Vector128", x64.Header);
        Assert.Equal(x64.Checks.Keys, arm.Checks.Keys);
        Assert.All(arm.Checks.Values, line => Assert.True(line.Digest == x64.Checks[line.Name].Digest,
            $"{line.Name}: arm64 results {line.Digest}, x64 {x64.Checks[line.Name].Digest}"));

        // Each kind of kernel is there: a check that silently stopped running would not be noticed otherwise.
        Assert.Contains("byte-dot-s8s8", arm.Checks.Keys);
        Assert.Contains("scaled-byte-dot-u8s8", arm.Checks.Keys);
        Assert.Contains("fp16-to-fp32", arm.Checks.Keys);
        Assert.Contains("quantize-Q8_K", arm.Checks.Keys);
        Assert.Contains("dot-Q4_K", arm.Checks.Keys);
        Assert.Contains("matvec-Q8_0", arm.Checks.Keys);
        Assert.Equal(15, arm.Checks.Keys.Count(name => name.StartsWith("dot-", StringComparison.Ordinal)));
    }
}

/// <summary>
/// tests/ModelGen.Kernels.ArmCheck, published once for linux-arm64 (cross-linked, as <c>modelgen publish</c> does) and
/// built once for the x64 JIT, in a build slot of its own.
/// </summary>
public sealed class ArmKernelCheck : IDisposable
{
    private static readonly string Project =
        Path.Combine(SharedData.RepositoryRoot, "tests", "ModelGen.Kernels.ArmCheck", "ModelGen.Kernels.ArmCheck.csproj");

    private static readonly string Toolchain =
        typeof(ArmKernelCheck).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Arm64ToolchainCacheDir").Value!;

    private readonly string _root = Directory.CreateTempSubdirectory("modelgen-armcheck-").FullName;
    private readonly ModelGenProcess _processes;
    private readonly Lazy<string> _arm64;
    private readonly Lazy<Output> _x64;

    public ArmKernelCheck()
    {
        _processes = new ModelGenProcess(Path.Combine(_root, "cache"));
        _arm64 = new(() => Dotnet("publish", "arm64", "-r", "linux-arm64", "-p:IlcInstructionSet=armv8-a"));
        _x64 = new(() =>
        {
            // The 128-bit path with FMA, as an arm64 core has it: AVX2 stays on, 256- and 512-bit vectors are not used.
            var program = Path.Combine(Dotnet("build", "x64"), "ModelGen.Kernels.ArmCheck.dll");
            return Parse(_processes.Run(("DOTNET_PreferredVectorBitWidth", "128"), "dotnet", program));
        });
    }

    /// <summary>One check's line: <c>NAME ok|FAIL DIGEST DETAIL</c>.</summary>
    public sealed record Line(string Name, bool Ok, string Digest, string Text);

    public sealed record Output(string Header, IReadOnlyDictionary<string, Line> Checks);

    /// <summary>The program's lines under qemu-aarch64 emulating <paramref name="cpu"/>.</summary>
    public Output RunArm64(string cpu) => Parse(_processes.Run(
        ("QEMU_LD_PREFIX", Path.Combine(Toolchain, "sysroot", "usr", "aarch64-linux-gnu")),
        Path.Combine(Toolchain, "qemu-aarch64-static"), "-cpu", cpu, Path.Combine(_arm64.Value, "ModelGen.Kernels.ArmCheck")));

    /// <summary>The program's lines on this machine's JIT, on the 128-bit path.</summary>
    public Output RunX64() => _x64.Value;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Output Parse(ModelGenProcess.Result run)
    {
        Assert.True(run.StdErr == "", run.StdErr);
        var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var checks = lines.Skip(1).Select(text =>
        {
            var fields = text.Split(' ', 4);
            return new Line(fields[0], fields[1] == "ok", fields[2], text);
        });
        var output = new Output(lines[0], checks.ToDictionary(line => line.Name));
        Assert.True(run.ExitCode == (output.Checks.Values.All(line => line.Ok) ? 0 : 1), $"exit code {run.ExitCode}");
        return output;
    }

    /// <summary><c>dotnet build</c> or <c>publish</c> of the program into a folder named <paramref name="name"/>, which it returns.</summary>
    private string Dotnet(string command, string name, params string[] args)
    {
        var folder = Path.Combine(_root, name);
        var run = _processes.Run("dotnet", [command, Project, "-c", "Release", "-o", folder, "-p:ModelGenBuildSlot=armcheck", .. args]);
        Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
        return folder;
    }
}
