using System.Reflection;
using System.Xml.Linq;
using ModelGen.Cli.Publishing;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>
/// The project modelgen writes to compile a model: any file name stays one literal path in it, and ModelGen comes
/// from the package the installed tool carries or from the checkout a development build runs in.
/// </summary>
public sealed class ModelProjectTests
{
    private static readonly ModelGenSource Checkout = new ModelGenSource.Checkout(SharedData.RepositoryRoot);

    [Fact]
    public void A_file_name_with_MSBuild_and_XML_syntax_is_one_literal_path()
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-project-").FullName;
        try
        {
            // Each of these would end the attribute, the comment, or expand as MSBuild syntax if written as it is.
            var model = Path.Combine(directory, "it's \"a\" <model> --> $(Home) @(Compile) %(Identity); *?.gguf");
            File.Copy(Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf"), model);
            var project = ModelProject.ForLibrary(model, Path.Combine(directory, "cache"), Checkout);

            Assert.Equal("it_s__a___model__--____Home____Compile____Identity_____", project.AssemblyName);
            var xml = XDocument.Load(Directory.GetFiles(project.Directory, "*.csproj").Single());
            var include = xml.Descendants("AdditionalFiles").Single().Attribute("Include")!.Value;
            Assert.Equal(model, Uri.UnescapeDataString(include));
            Assert.DoesNotContain("$(", include);
            Assert.DoesNotContain("@(", include);
            Assert.Single(xml.DescendantNodes().OfType<XComment>());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_model_path_with_control_characters_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelProject.ForLibrary("a\nb\u001b[2J.gguf", "unused", Checkout));
        Assert.Equal(Path.GetFullPath(".") + "/a\\nb\\x1b[2J.gguf: a model path with control characters cannot go into a project file; rename the file", e.Message);
    }

    [Fact]
    public void The_installed_tool_references_the_package_it_carries_and_a_development_build_its_checkout()
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-source-").FullName;
        try
        {
            // modelgen run from the checkout's build output, with no package beside it.
            Assert.Equal(Checkout, ModelGenSource.Find(directory));

            // The installed tool: its package in packages/, in the version modelgen was built with.
            var feed = Directory.CreateDirectory(Path.Combine(directory, "packages")).FullName;
            File.WriteAllText(Path.Combine(feed, "ModelGen.0.0.1-other.nupkg"), "");
            Assert.Equal(Checkout, ModelGenSource.Find(directory));
            var version = typeof(ModelProject).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ModelGenPackageVersion").Value!;
            File.WriteAllText(Path.Combine(feed, $"ModelGen.{version}.nupkg"), "");
            var package = Assert.IsType<ModelGenSource.Package>(ModelGenSource.Find(directory));
            Assert.Equal(feed, package.Feed);
            Assert.Equal(version, package.Version);

            var model = Path.Combine(directory, "tiny.gguf");
            File.Copy(SharedData.TinyModel, model);
            var fromPackage = XDocument.Load(Directory.GetFiles(ModelProject.ForLibrary(model, Path.Combine(directory, "cache"), package).Directory, "*.csproj").Single());
            var reference = fromPackage.Descendants("PackageReference").Single();
            Assert.Equal(("ModelGen", version), (reference.Attribute("Include")!.Value, reference.Attribute("Version")!.Value));
            Assert.Equal(feed, fromPackage.Descendants("RestoreAdditionalProjectSources").Single().Value);
            Assert.Empty(fromPackage.Descendants("ProjectReference"));
            Assert.Empty(fromPackage.Descendants("Import"));

            var fromCheckout = XDocument.Load(Directory.GetFiles(ModelProject.ForLibrary(model, Path.Combine(directory, "cache"), Checkout).Directory, "*.csproj").Single());
            Assert.Equal(
                [Path.Combine(SharedData.RepositoryRoot, "src/ModelGen.Runtime/ModelGen.Runtime.csproj"), Path.Combine(SharedData.RepositoryRoot, "generators/ModelGen.Generator/ModelGen.Generator.csproj")],
                fromCheckout.Descendants("ProjectReference").Select(r => Path.GetFullPath(r.Attribute("Include")!.Value)));
            Assert.Equal(Path.Combine(SharedData.RepositoryRoot, "src/ModelGen/buildTransitive/ModelGen.props"), Path.GetFullPath(fromCheckout.Descendants("Import").Single().Attribute("Project")!.Value));
            Assert.Empty(fromCheckout.Descendants("PackageReference"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
