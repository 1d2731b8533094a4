using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Publish.Tests;

/// <summary>
/// <c>ModelGen.Tool</c> installed from the feed eng/pack.sh makes, run outside the repository: the default model right
/// after install, and <c>publish</c> and <c>bench --engine generated</c> building against the ModelGen package the
/// tool carries rather than the checkout. Also the README's library snippet, as written, against the same feed.
/// </summary>
public sealed partial class InstalledToolTests(InstalledTool tool) : IClassFixture<InstalledTool>
{
    private const string Prompt = "Once upon a time";

    [Fact]
    public void The_packages_carry_documentation_a_readme_and_the_licence_and_the_tool_carries_the_library()
    {
        var packages = Directory.GetFiles(tool.Feed, "*.nupkg").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(2, packages.Length);
        var (libraryPackage, toolPackage) = packages[0]!.StartsWith("ModelGen.Tool.", StringComparison.Ordinal) ? (packages[1]!, packages[0]!) : (packages[0]!, packages[1]!);
        Assert.StartsWith("ModelGen.Tool.", toolPackage);

        var library = Entries(libraryPackage);
        var assemblies = library.Where(e => e.StartsWith("lib/net10.0/", StringComparison.Ordinal) && e.EndsWith(".dll", StringComparison.Ordinal)).ToArray();
        Assert.Contains("lib/net10.0/ModelGen.Runtime.dll", assemblies);
        foreach (var assembly in assemblies)
        {
            Assert.Contains(Path.ChangeExtension(assembly, ".xml"), library);
        }

        Assert.Contains("analyzers/dotnet/cs/ModelGen.Generator.dll", library);
        var installable = Entries(toolPackage);
        foreach (var entries in new[] { library, installable })
        {
            Assert.Contains("README.md", entries);
            Assert.Contains("LICENSE", entries);
        }

        // The library's very package, as the feed folder beside modelgen.dll.
        Assert.Equal("tools/net10.0/any/packages/" + libraryPackage, Assert.Single(installable, e => e.Contains("/packages/", StringComparison.Ordinal)));
        Assert.Contains("tools/net10.0/any/models/modelgen-fortunes.gguf", installable);
        Assert.Contains("tools/net10.0/any/ModelGen.Runtime.xml", installable);
    }

    [Fact]
    public void Run_right_after_install_prints_what_the_checkouts_modelgen_prints()
    {
        var installed = tool.Run(tool.Modelgen, ["run", "-p", Prompt, "-n", "8", "--temp", "0"]);
        Assert.True(installed.ExitCode == 0, installed.StdErr);
        Assert.Contains("compiled into modelgen", installed.StdErr);

        var checkout = new ModelGenProcess(tool.CacheRoot).Modelgen("run", "-p", Prompt, "-n", "8", "--temp", "0");
        Assert.True(checkout.ExitCode == 0, checkout.StdErr);
        Assert.NotEqual("", checkout.StdOut.Trim());
        Assert.Equal(checkout.StdOut, installed.StdOut);
    }

    [Fact]
    public void Publish_builds_against_the_carried_package_and_the_executable_generates_as_the_generic_engine()
    {
        var model = CopyTinyModel();
        var output = Path.Combine(tool.WorkingDirectory, "published");
        var publish = tool.Run(tool.Modelgen, ["publish", model, "-o", output]);
        Assert.True(publish.ExitCode == 0, publish.StdErr);
        AssertBuiltAgainstThePackage("aot-native");

        const int tokens = 16;
        using var generic = GenericModel.Load(model);
        var expected = string.Concat(generic.Generator.Generate(Prompt, new() { MaxTokens = tokens, Sampling = SamplingOptions.Greedy }));
        Assert.Equal(tokens, generic.Generator.LastTokens.Length);
        var run = tool.Run(Path.Combine(output, "modelgen-tiny"), ["-p", Prompt, "-n", tokens.ToString(CultureInfo.InvariantCulture), "--temp", "0"]);
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Equal(expected + "\n", run.StdOut);
    }

    [Fact]
    public void Bench_builds_the_generated_engine_against_the_carried_package()
    {
        var bench = tool.Run(tool.Modelgen, ["bench", CopyTinyModel(), "--engine", "generated,generic", "-p", "16", "-n", "8", "-r", "1"]);
        Assert.True(bench.ExitCode == 0, bench.StdErr);
        AssertBuiltAgainstThePackage("jit");
        var rows = bench.StdOut.Split('\n').Where(line => line.StartsWith("| generated ") || line.StartsWith("| generic ")).ToArray();
        Assert.Equal(2, rows.Length);
        foreach (var row in rows)
        {
            // | engine | pp16 mean ± sd | tg8 mean ± sd | share |: both rates measured, so positive.
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            Assert.True(double.Parse(cells[2].Split(' ')[0], CultureInfo.InvariantCulture) > 0, row);
            Assert.True(double.Parse(cells[3].Split(' ')[0], CultureInfo.InvariantCulture) > 0, row);
        }
    }

    /// <summary>
    /// The README's "Compiling a model into your app": its ItemGroup in a plain console project and its C# as the
    /// program, word for word, with the tiny model where the snippet names its file. Run from its output folder, the
    /// app finds the weights only if the snippet copies them there.
    /// </summary>
    [Fact]
    public void The_readme_library_snippet_builds_and_runs_from_its_output_folder()
    {
        var readme = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "README.md"));
        var section = readme[readme.IndexOf("## Compiling a model into your app", StringComparison.Ordinal)..];
        var blocks = CodeBlock().Matches(section);
        var itemGroup = blocks.First(m => m.Groups["language"].Value == "xml").Groups["code"].Value;
        var program = blocks.First(m => m.Groups["language"].Value == "csharp").Groups["code"].Value;

        var app = Directory.CreateDirectory(Path.Combine(tool.WorkingDirectory, "app")).FullName;
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
            {itemGroup}
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        var modelPath = XElement.Parse(itemGroup).Elements("AdditionalFiles").Single().Attribute("Include")!.Value;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(app, modelPath))!);
        File.Copy(SharedData.TinyModel, Path.Combine(app, modelPath));

        var build = tool.Run("dotnet", ["build", "-c", "Release", "-o", "out"], directory: app);
        Assert.True(build.ExitCode == 0, build.StdOut + build.StdErr);
        var run = tool.Run("dotnet", ["App.dll"], directory: Path.Combine(app, "out"));
        Assert.True(run.ExitCode == 0, run.StdErr);

        // The first line is the compiled constant; then up to 64 tokens of the tiny model, which never ends early.
        using var generic = GenericModel.Load(SharedData.TinyModel);
        var lines = run.StdOut.Split('\n', 2);
        Assert.Equal(generic.Config.EmbeddingLength.ToString(CultureInfo.InvariantCulture), lines[0]);
        Assert.NotEqual("", lines[1].Trim());
    }

    private string[] Entries(string package)
    {
        using var zip = ZipFile.OpenRead(Path.Combine(tool.Feed, package));
        return zip.Entries.Select(e => e.FullName).ToArray();
    }

    [GeneratedRegex(@"```(?<language>\w+)\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    /// <summary>The tiny test model, copied into the working folder as a user's file would be.</summary>
    private string CopyTinyModel()
    {
        var model = Path.Combine(tool.WorkingDirectory, "modelgen-tiny.gguf");
        if (!File.Exists(model))
        {
            File.Copy(SharedData.TinyModel, model);
        }

        return model;
    }

    /// <summary>The project modelgen wrote for <paramref name="kind"/> references the ModelGen package, not the checkout.</summary>
    private void AssertBuiltAgainstThePackage(string kind)
    {
        var project = XDocument.Load(Directory.GetFiles(Path.Combine(tool.CacheRoot, "modelgen"), "modelgen-tiny.csproj", SearchOption.AllDirectories)
            .Single(path => Path.GetFileName(Path.GetDirectoryName(path)) == kind));
        Assert.Equal("ModelGen", project.Descendants("PackageReference").Single().Attribute("Include")!.Value);
        Assert.Empty(project.Descendants("ProjectReference"));
        Assert.StartsWith(Path.GetDirectoryName(tool.Modelgen)!, project.Descendants("RestoreAdditionalProjectSources").Single().Value);
    }
}
