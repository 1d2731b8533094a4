using System.Xml.Linq;
using ModelGen.Cli.Publishing;
using ModelGen.TestSupport;

namespace ModelGen.Cli.Tests;

/// <summary>The project modelgen writes to compile a model: any file name stays one literal path in it.</summary>
public sealed class ModelProjectTests
{
    [Fact]
    public void A_file_name_with_MSBuild_and_XML_syntax_is_one_literal_path()
    {
        var directory = Directory.CreateTempSubdirectory("modelgen-project-").FullName;
        try
        {
            // Each of these would end the attribute, the comment, or expand as MSBuild syntax if written as it is.
            var model = Path.Combine(directory, "it's \"a\" <model> --> $(Home) @(Compile) %(Identity); *?.gguf");
            File.Copy(Path.Combine(SharedData.RepositoryRoot, "models", "modelgen-tiny.gguf"), model);
            var project = ModelProject.ForLibrary(model, Path.Combine(directory, "cache"));

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
        var e = Assert.Throws<ArgumentException>(() => ModelProject.ForLibrary("a\nb\u001b[2J.gguf", "unused"));
        Assert.Equal(Path.GetFullPath(".") + "/a\\nb\\x1b[2J.gguf: a model path with control characters cannot go into a project file; rename the file", e.Message);
    }
}
