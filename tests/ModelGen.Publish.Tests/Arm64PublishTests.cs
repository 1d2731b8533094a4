using System.Buffers.Binary;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Quantization;
using ModelGen.Runtime.Sampling;
using ModelGen.Runtime.Synthesis;
using ModelGen.TestSupport;
using Xunit.Abstractions;

namespace ModelGen.Publish.Tests;

/// <summary>
/// The linux-arm64 executables, cross-linked on this x64 machine and run under qemu-aarch64 on the sysroot they were
/// linked against. Each build is published once for the whole class (<see cref="Arm64Builds"/>).
/// </summary>
[Collection(NativeAotPublishes.Name)]
public sealed class Arm64PublishTests(Arm64Builds builds, ITestOutputHelper output) : IClassFixture<Arm64Builds>
{
    private const string Prompt = "Once upon a time";
    private const int Tokens = 16;

    // Cortex-A53 is ARMv8.0-A (NEON, no dot product); qemu's max has every extension qemu knows, dot product among them.
    // The linux-arm64 build looks for dot product at run time, so on max it takes sdot and on a Cortex-A53 the
    // widening multiplies; the dot-product build takes sdot unconditionally.
    [Theory]
    [InlineData("linux-arm64", "max")]
    [InlineData("linux-arm64", "cortex-a53")]
    [InlineData("linux-arm64-dotprod", "max")]
    public void Default_model_runs_as_the_generic_engine(string cpu, string emulated) =>
        RunsAsTheGenericEngine(builds.Publish(Arm64Builds.DefaultModel, cpu), Arm64Builds.DefaultModel, emulated);

    [Theory]
    [InlineData("linux-arm64", "max")]
    [InlineData("linux-arm64", "cortex-a53")]
    [InlineData("linux-arm64-dotprod", "max")]
    public void K_quant_model_runs_as_the_generic_engine(string cpu, string emulated) =>
        RunsAsTheGenericEngine(builds.Publish(builds.KQuantModel, cpu), builds.KQuantModel, emulated);

    [Fact]
    public void Publish_says_what_it_built_an_arm64_executable_for()
    {
        var executable = builds.Publish(Arm64Builds.DefaultModel, "linux-arm64-dotprod");
        Assert.Contains("linux-arm64-dotprod (linux-arm64), weights beside it in modelgen-fortunes.gguf", builds.PublishOutput(executable));
        var header = File.ReadAllBytes(executable).AsSpan(0, 20);
        Assert.Equal("\u007fELF", Encoding.ASCII.GetString(header[..4]));
        Assert.Equal(183, BinaryPrimitives.ReadUInt16LittleEndian(header[18..])); // e_machine EM_AARCH64
    }

    /// <summary>
    /// Started on a core without dot product, the dot-product build stops before any code of ours runs, and before the
    /// NativeAOT runtime's own check (which would say only that "the required instruction sets" are missing, and abort):
    /// its start-up check names the missing instruction set and what to publish instead, in one line.
    /// </summary>
    [Fact]
    public void Dot_product_build_refuses_a_cpu_without_it()
    {
        var run = builds.Emulate("cortex-a53", builds.Publish(Arm64Builds.DefaultModel, "linux-arm64-dotprod"), "-p", Prompt, "-n", "4");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.StdOut);
        Assert.Equal(
            "modelgen-fortunes: this CPU has no dot product (ARMv8.2-A's DotProd), which this executable was built for " +
            "(modelgen publish --cpu linux-arm64-dotprod); publish it with --cpu linux-arm64 to run here\n", run.StdErr);
    }

    private void RunsAsTheGenericEngine(string executable, string model, string emulated)
    {
        using var generic = GenericModel.Load(model);
        var expected = string.Concat(generic.Generator.Generate(Prompt, new() { MaxTokens = Tokens, Sampling = SamplingOptions.Greedy }));
        var run = builds.Emulate(emulated, executable, "-p", Prompt, "-n", Tokens.ToString(), "--temp", "0");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Equal(expected + "\n", run.StdOut);
        Assert.Contains("first token", run.StdErr);

        var npy = Path.Combine(Path.GetDirectoryName(executable)!, $"logits-{emulated}.npy");
        run = builds.Emulate(emulated, executable, "--logits", npy, "-p", Prompt);
        Assert.True(run.ExitCode == 0, run.StdErr);
        var tokens = generic.Generator.TokenizePrompt(Prompt);
        Assert.Equal(string.Join(' ', tokens) + "\n", run.StdOut);

        // An arm64 core takes the 128-bit paths, whose arm64 instructions (sdot or widening multiplies, tbl, fcvtns)
        // give the same integers as x64's, and whose float steps are the same IEEE operations in the same order,
        // fused multiply-adds included. So the logits are the x64 JIT's on its 128-bit path with FMA, bit for bit
        // (ModelGen.Kernels.ArmCheck checks each kernel so); x64's wider paths sum in another order, within tolerance.
        var logits = ReadFloat32Npy(npy, tokens.Length, generic.VocabularySize);
        var reference = builds.Vector128Logits(model);
        int identical = logits.Zip(reference).Count(pair => pair.First == pair.Second);
        double error = RelativeRmsError(logits, builds.BestPathLogits(model));
        output.WriteLine($"{Path.GetFileName(executable)} on {emulated}: {identical} of {logits.Length} logits identical to x64 Vector128's; relative RMS error {error:0.0e0} against x64's {SimdPaths.Best}");
        Assert.Equal(reference, logits);
        Assert.True(error <= QuantizedLogitTolerance, $"relative RMS error {error} against x64's {SimdPaths.Best} logits");
    }

    /// <summary>
    /// Relative RMS error allowed between paths that sum in different orders: the numerical contract's bound for
    /// quantized weights (docs/DESIGN.md), where a rounding difference may move an activation quant by one.
    /// </summary>
    private const double QuantizedLogitTolerance = 1e-3;

    private static double RelativeRmsError(float[] actual, float[] expected)
    {
        double difference = 0, magnitude = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            difference += Math.Pow(actual[i] - expected[i], 2);
            magnitude += Math.Pow(expected[i], 2);
        }

        return Math.Sqrt(difference / magnitude);
    }

    private static float[] ReadFloat32Npy(string path, int rows, int columns)
    {
        var bytes = File.ReadAllBytes(path);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Contains($"'shape': ({rows}, {columns})", Encoding.ASCII.GetString(bytes, 10, headerLength));
        return MemoryMarshal.Cast<byte, float>(bytes.AsSpan(10 + headerLength)).ToArray();
    }
}

/// <summary>
/// The arm64 builds the tests share, each published on first use: a NativeAOT publish takes a minute or more, and
/// the builds of one model share its compiled libraries.
/// </summary>
public sealed class Arm64Builds : IDisposable
{
    /// <summary>The default model, Q8_0: the 32-element kernels.</summary>
    public static readonly string DefaultModel = Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-fortunes.gguf");

    /// <summary>The shape of <see cref="KQuantModel"/>: rows of 256, one super-block, so that every matrix is a K-quant.</summary>
    private static readonly ModelShape K256 = new("k256", 256, 2, 4, 1, 256, 512);

    private static readonly string Toolchain =
        typeof(Arm64Builds).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Arm64ToolchainCacheDir").Value!;

    private readonly string _root = Directory.CreateTempSubdirectory("modelgen-arm64-").FullName;
    private readonly ModelGenProcess _processes;
    private readonly Dictionary<string, (string Executable, string Output)> _published = [];
    private readonly Dictionary<(string Model, string Label), float[]> _references = [];
    private readonly Lock _lock = new();
    private readonly Lazy<string> _kQuantModel;

    public Arm64Builds()
    {
        _processes = new ModelGenProcess(Path.Combine(_root, "cache"));
        _kQuantModel = new(() =>
        {
            var source = Path.Combine(_root, "k256-F32.gguf");
            var model = Path.Combine(_root, "k256-Q4_K_M.gguf");
            ModelSynthesizer.Write(new SynthesisOptions { Shape = K256, WeightType = GgmlType.F32 }, source);
            ModelQuantizer.Quantize(source, model, QuantizationType.Q4_K_M);
            return model;
        });
    }

    /// <summary>
    /// A llama model in llama-quantize's Q4_K_M mix, Q4_K and Q6_K throughout (the reference set's micro models have
    /// rows of 64 and 192, which no K-quant fits, so their Q4_K_M is Q5_0 and Q8_0), with random weights.
    /// </summary>
    public string KQuantModel => _kQuantModel.Value;

    /// <summary>The executable of <paramref name="model"/> published for <paramref name="cpu"/>, weights beside it.</summary>
    public string Publish(string model, string cpu)
    {
        lock (_lock)
        {
            var key = $"{Path.GetFileNameWithoutExtension(model)}-{cpu}";
            if (!_published.TryGetValue(key, out var build))
            {
                var directory = Path.Combine(_root, key);
                var publish = _processes.Modelgen("publish", model, "--cpu", cpu, "-o", directory);
                Assert.True(publish.ExitCode == 0, publish.StdErr);
                build = (Path.Combine(directory, Path.GetFileNameWithoutExtension(model)), publish.StdOut);
                _published[key] = build;
            }

            return build.Executable;
        }
    }

    /// <summary>What <c>modelgen publish</c> printed for <paramref name="executable"/>.</summary>
    public string PublishOutput(string executable)
    {
        lock (_lock)
        {
            return _published.Values.Single(build => build.Executable == executable).Output;
        }
    }

    /// <summary>
    /// <paramref name="model"/>'s logits from <c>modelgen logits</c> on this machine's JIT with vectors limited to 128
    /// bits, so that the kernels take the 128-bit paths an arm64 core takes, with FMA as an arm64 core has it.
    /// </summary>
    public float[] Vector128Logits(string model) => Logits(model, "vector128", ("DOTNET_PreferredVectorBitWidth", "128"));

    /// <summary><paramref name="model"/>'s logits from <c>modelgen logits</c> on this machine's widest path.</summary>
    public float[] BestPathLogits(string model) => Logits(model, "best", setting: null);

    private float[] Logits(string model, string label, (string Name, string Value)? setting)
    {
        lock (_lock)
        {
            if (!_references.TryGetValue((model, label), out var logits))
            {
                var npy = Path.Combine(_root, $"{Path.GetFileNameWithoutExtension(model)}-{label}.npy");
                string[] args = ["logits", model, "--prompt", "Once upon a time", "-o", npy];
                var run = setting is { } variable ? _processes.Modelgen(variable, args) : _processes.Modelgen(args);
                Assert.True(run.ExitCode == 0, run.StdErr);
                var bytes = File.ReadAllBytes(npy);
                int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
                logits = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(10 + headerLength)).ToArray();
                _references[(model, label)] = logits;
            }

            return logits;
        }
    }

    /// <summary>Runs an arm64 executable under qemu-aarch64 emulating <paramref name="cpu"/>, on the toolchain's sysroot.</summary>
    internal ModelGenProcess.Result Emulate(string cpu, string executable, params string[] args) =>
        _processes.Run(("QEMU_LD_PREFIX", Path.Combine(Toolchain, "sysroot", "usr", "aarch64-linux-gnu")),
            Path.Combine(Toolchain, "qemu-aarch64-static"), ["-cpu", cpu, executable, .. args]);

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
