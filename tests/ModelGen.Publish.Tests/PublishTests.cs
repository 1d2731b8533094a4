using System.Buffers.Binary;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Publish.Tests;

/// <summary>
/// <c>modelgen publish</c> of the default model for x86-64-v3, run as a user runs it: its greedy text and its logits
/// equal the generic engine's on the JIT (which the generator tests prove bit-identical to the compiled class), with
/// the weights beside the executable or embedded in it. The second publish reuses the first's build.
/// </summary>
[Collection(NativeAotPublishes.Name)]
public sealed class PublishTests : IDisposable
{
    private const string Prompt = "Once upon a time";
    private const int Tokens = 16;

    /// <summary>The random-weight tiny model: it never ends a continuation early, so every run makes all its tokens.</summary>
    private static readonly string Model = SharedData.TinyModel;

    private readonly string _root = Directory.CreateTempSubdirectory("modelgen-publish-").FullName;
    private readonly ModelGenProcess _processes;

    public PublishTests() => _processes = new ModelGenProcess(Path.Combine(_root, "cache"));

    [Fact]
    public void Published_executables_with_weights_beside_or_embedded_run_as_the_generic_engine()
    {
        var beside = Path.Combine(_root, "beside");
        var publish = _processes.Modelgen("publish", Model, "--cpu", "x86-64-v3", "-o", beside);
        Assert.True(publish.ExitCode == 0, publish.StdErr);
        Assert.Contains("x86-64-v3 (linux-x64), weights beside it in modelgen-tiny.gguf", publish.StdOut);
        Assert.Equal(["modelgen-tiny", "modelgen-tiny.gguf"], Directory.GetFiles(beside).Select(Path.GetFileName).Order());
        RunsAsTheGenericEngine(Path.Combine(beside, "modelgen-tiny"));
        RefusesACpuWithoutItsInstructionSets(Path.Combine(beside, "modelgen-tiny"));

        var embedded = Path.Combine(_root, "embedded");
        publish = _processes.Modelgen("publish", Model, "--cpu", "x86-64-v3", "--embed-weights", "-o", embedded);
        Assert.True(publish.ExitCode == 0, publish.StdErr);
        Assert.Contains("weights embedded", publish.StdOut);
        Assert.Equal(["modelgen-tiny"], Directory.GetFiles(embedded).Select(Path.GetFileName));

        // The single file runs alone, under another name, with no weights beside it.
        var alone = Path.Combine(_root, "alone");
        Directory.CreateDirectory(alone);
        var single = Path.Combine(alone, "story");
        File.Copy(Path.Combine(embedded, "modelgen-tiny"), single);
        AssertEmbeds(single);
        RunsAsTheGenericEngine(single);
    }

    [Theory]
    [InlineData("x86-64-v9", "modelgen: unknown CPU 'x86-64-v9' (native, x86-64-v2, x86-64-v3, x86-64-v4, linux-arm64, linux-arm64-dotprod)")]
    public void Publish_refuses_a_target_it_cannot_build_in_one_line(string cpu, string expected)
    {
        var publish = _processes.Modelgen("publish", "--cpu", cpu, "-o", Path.Combine(_root, "never"));
        Assert.Equal(1, publish.ExitCode);
        Assert.StartsWith(expected, publish.StdErr);
        Assert.Single(publish.StdErr.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(_root, "never")));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void RunsAsTheGenericEngine(string executable)
    {
        using var generic = GenericModel.Load(Model);
        var expected = string.Concat(generic.Generator.Generate(Prompt, new() { MaxTokens = Tokens, Sampling = SamplingOptions.Greedy }));
        var run = _processes.Run(executable, "-p", Prompt, "-n", Tokens.ToString(), "--temp", "0");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Equal(expected + "\n", run.StdOut);
        Assert.Contains("first token", run.StdErr);

        // Kernels sum in the order of their vector width, so the logits are bit-identical to the JIT's at the same width:
        // x86-64-v3 has 256-bit vectors, and the JIT leaves 512-bit ones alone when told to.
        var expectedNpy = Path.Combine(_root, "expected.npy");
        var reference = _processes.Modelgen(("DOTNET_EnableAVX512", "0"), "logits", Model, "--prompt", Prompt, "-o", expectedNpy);
        Assert.True(reference.ExitCode == 0, reference.StdErr);

        var npy = Path.Combine(_root, "logits.npy");
        run = _processes.Run(executable, "--logits", npy, "-p", Prompt);
        Assert.True(run.ExitCode == 0, run.StdErr);
        var tokens = generic.Generator.TokenizePrompt(Prompt);
        Assert.Equal(string.Join(' ', tokens) + "\n", run.StdOut);
        Assert.Equal(reference.StdOut, run.StdOut);
        Assert.Equal(ReadFloat32Npy(expectedNpy, tokens.Length, generic.VocabularySize), ReadFloat32Npy(npy, tokens.Length, generic.VocabularySize));
    }

    /// <summary>
    /// Run on an emulated Nehalem (SSE4.2, no AVX), an x86-64-v3 executable stops before any code of ours runs, with
    /// the NativeAOT runtime's message, rather than faulting on the first AVX2 instruction.
    /// </summary>
    private void RefusesACpuWithoutItsInstructionSets(string executable)
    {
        var qemu = Path.Combine(
            typeof(PublishTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "QemuCacheDir").Value!,
            "qemu-x86_64-static");
        var run = _processes.Run(qemu, "-cpu", "Nehalem", executable, "-p", Prompt, "-n", "4");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal("", run.StdOut);
        Assert.Contains("The required instruction sets are not supported by the current CPU.", run.StdErr);
    }

    /// <summary>The single file is an executable, page-aligned weights that are the model's bytes, and the trailer.</summary>
    private static void AssertEmbeds(string single)
    {
        var bytes = File.ReadAllBytes(single);
        var weights = File.ReadAllBytes(Model);
        long offset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(bytes.Length - 24));
        Assert.Equal(weights.Length, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(bytes.Length - 16)));
        Assert.Equal("MGWEIGHT", Encoding.ASCII.GetString(bytes, bytes.Length - 8, 8));
        Assert.Equal(0, offset % 4096);
        Assert.Equal(offset + weights.Length + 24, bytes.Length);
        Assert.Equal("\u007fELF", Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal(weights, bytes[(int)offset..(int)(offset + weights.Length)]);
    }

    private static float[] ReadFloat32Npy(string path, int rows, int columns)
    {
        var bytes = File.ReadAllBytes(path);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Contains($"'shape': ({rows}, {columns})", Encoding.ASCII.GetString(bytes, 10, headerLength));
        return MemoryMarshal.Cast<byte, float>(bytes.AsSpan(10 + headerLength)).ToArray();
    }
}
