using System.Reflection;
using Microsoft.CodeAnalysis;
using ModelGen.Gguf;
using ModelGen.TestSupport;

namespace ModelGen.Generator.Tests;

/// <summary>
/// Files written by an attacker: every string they carry into the generated code stays data (an escaped literal, or
/// a comment that cannot end early), and hyper-parameters the engine would refuse are refused at build time too.
/// </summary>
public sealed class HostileModelTests
{
    private static readonly string Model = ModelFiles.Get("llama", GgmlType.Q8_0);

    /// <summary>Each would put code or directives into the user's assembly if it left a literal or comment.</summary>
    private static readonly string[] Payloads =
    [
        "\n[System.Runtime.CompilerServices.ModuleInitializer] internal static void Injected() => System.Environment.Exit(42);\n//",
        "\u2028public static int InjectedAfterLineSeparator = 1; //",
        "\u2029public static int InjectedAfterParagraphSeparator = 1; //",
        "\u0085public static int InjectedAfterNextLine = 1; //",
        "*/ public static int InjectedAfterCommentEnd = 1; /*",
        "\"; public static int InjectedAfterQuote = 1; const string s = \"",
        "back\\slash\\",
        "\n#line 1 \"evil.cs\"\n",
        "\r\n#pragma warning disable\n#error injected\n",
        "\u202eevil\u202c <summary> & </summary>",
    ];

    private static readonly string Hostile = string.Concat(Payloads);

    /// <summary>Payloads short enough for tensor names, which GGUF limits to 63 bytes.</summary>
    private static readonly string[] TensorPayloads =
    [
        "x;\n[ModuleInitializer]static void I(){}//",
        "\u2028public static int I=1;//",
        "*/public static int I=1;/*",
        "\";public static int I=1;//",
        "\\\n#line 1 \"e.cs\"\n",
        "\r\n#error injected\n",
    ];

    [Fact]
    public void Strings_from_the_file_compile_as_data_and_declare_exactly_the_usual_members()
    {
        // The hostile strings go where a file can put them: the model's name, the file's name (any character but '/'
        // and NUL is allowed on Linux), and the names of tensors the forward pass does not read.
        var directory = Directory.CreateTempSubdirectory("modelgen-hostile").FullName;
        // (A file name holds at most 255 bytes.)
        var fileName = "model\n[ModuleInitializer]static void I(){}\u2028\"*\\\r\n#line 1\u202e.gguf";
        var path = GgufVariant.Write(Model, Path.Combine(directory, fileName),
            metadata: e => e.Key == "general.name" ? GgufValue.Of(Hostile) : e.Value,
            addTensors: TensorPayloads.Select((p, i) => (p + i, GgmlType.F32, i % 2 == 0 ? new long[] { 64 } : [64, 2])));

        var source = GeneratorHarness.GenerateSource(path);
        Assert.DoesNotContain(source, c => DisplayText.IsUnsafe(c) && c != '\n');
        Assert.DoesNotContain("\r", source);

        var benign = GeneratorHarness.GenerateSource(Model);
        var (context, assembly) = GeneratorHarness.CompileAndLoad(source);
        var (benignContext, benignAssembly) = GeneratorHarness.CompileAndLoad(benign);
        try
        {
            Assert.Equal(TypeNames(benignAssembly), TypeNames(assembly));
            var type = assembly.GetType("Compiled.TestModel")!;
            Assert.Equal(MemberNames(benignAssembly.GetType("Compiled.TestModel")!), MemberNames(type));
            Assert.Equal(Hostile, Constant(type, "ModelName"));
            Assert.Equal(fileName, Constant(type, "SourceFileName"));
            Assert.DoesNotContain(assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)),
                m => m.GetCustomAttributesData().Any(a => a.AttributeType.Name == "ModuleInitializerAttribute"));
        }
        finally
        {
            context.Unload();
            benignContext.Unload();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Diagnostics_escape_what_they_quote_of_the_file()
    {
        var path = BadFiles.Variant(Model, "escape-arch.gguf",
            metadata: e => e.Key == "general.architecture" ? GgufValue.Of("\u001b[2J\u001b]0;owned\u0007x\ny") : e.Value);
        var diagnostic = Assert.Single(GeneratorHarness.Run(path).Diagnostics);
        Assert.Equal("MG0002", diagnostic.Id);
        Assert.Equal("'escape-arch.gguf' is a '\\x1b[2J\\x1b]0;owned\\x07x\\ny' model; ModelGen compiles llama, qwen2, qwen3, gemma3, phi3, qwen3moe", diagnostic.GetMessage());
    }

    [Fact]
    public void A_huge_metadata_key_is_cut_in_MG0001()
    {
        // A key of 1.6 MB whose value type is invalid: the message quotes a bounded part of it.
        var path = BadFiles.Variant(Model, "huge-key.gguf",
            metadata: e => e.Key == "general.name" ? null : e.Value);
        var bytes = File.ReadAllBytes(path);
        var key = new string('k', 1_600_000);
        using var hostile = new MemoryStream();
        using (var writer = new BinaryWriter(hostile, System.Text.Encoding.ASCII, leaveOpen: true))
        {
            // Magic, version and tensor count as they were; one more metadata entry (the count is at byte 16), which
            // comes first: the huge key, and a value type that does not exist.
            writer.Write(bytes, 0, 16);
            writer.Write(BitConverter.ToUInt64(bytes, 16) + 1);
            writer.Write((ulong)key.Length);
            writer.Write(System.Text.Encoding.ASCII.GetBytes(key));
            writer.Write(99u);
            writer.Write(bytes, 24, bytes.Length - 24);
        }

        File.WriteAllBytes(path, hostile.ToArray());

        var diagnostic = Assert.Single(GeneratorHarness.Run(path).Diagnostics);
        Assert.Equal("MG0001", diagnostic.Id);
        var message = diagnostic.GetMessage();
        Assert.InRange(message.Length, 100, 2_000);
        Assert.Contains("more characters)", message);
    }

    public static TheoryData<string> BadCases => new(BadHyperParameters.Names);

    [Theory]
    [MemberData(nameof(BadCases))]
    public void Hyper_parameters_the_engine_refuses_are_MG0006(string name)
    {
        var (_, key, value, problem) = BadHyperParameters.Get(name);
        var path = GgufVariant.WithValue(Model, ModelFiles.TempPath($"bad-{name}.gguf"), key, value);
        var diagnostic = Assert.Single(GeneratorHarness.Run(path).Diagnostics);
        Assert.Equal("MG0006", diagnostic.Id);
        Assert.Equal($"'bad-{name}.gguf': {problem}", diagnostic.GetMessage());
    }

    [Theory]
    [InlineData("class", "class")]
    [InlineData("Models.namespace", "namespace")]
    public void A_reserved_keyword_is_not_a_class_or_namespace_name(string name, string kind)
    {
        var result = kind == "class" ? GeneratorHarness.Run(Model, className: name) : GeneratorHarness.Run(Model, ns: name);
        var diagnostic = Assert.Single(result.Diagnostics);
        Assert.Equal("MG0007", diagnostic.Id);
        Assert.Contains($"'{name}' is not a valid C# {kind} name", diagnostic.GetMessage());
    }

    private static string[] TypeNames(Assembly assembly) => assembly.GetTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();

    private static string[] MemberNames(Type type) =>
        type.GetMembers(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Select(m => m.MemberType + " " + m.Name).Order(StringComparer.Ordinal).ToArray();

    private static object? Constant(Type type, string name) => type.GetField(name)!.GetRawConstantValue();
}
