using System.Diagnostics;
using Microsoft.Extensions.AI;
using ModelGen.Extensions.AI;
using ModelGen.Gguf;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;
using ModelGen.Runtime.Sampling;
using ModelGen.TestSupport;

namespace ModelGen.Generator.Tests;

/// <summary>
/// The user story: pack ModelGen, reference the package from a fresh console app, add a GGUF as an AdditionalFile,
/// build and run it, and get the generic engine's greedy output, from the model and from its chat client.
/// </summary>
public sealed class PackageEndToEndTests
{
    private const string Prompt = "Once upon a time";
    private const int Tokens = 16;
    private const string Question = "Tell me a story";

    [Fact]
    public async Task A_fresh_app_referencing_the_package_runs_its_compiled_model_as_the_generic_engine_does()
    {
        var root = Directory.CreateTempSubdirectory("modelgen-e2e").FullName;
        var feed = Path.Combine(root, "feed");
        var app = Path.Combine(root, "app");
        Directory.CreateDirectory(app);
        var model = Path.Combine(app, "story.gguf");
        File.Copy(ModelFiles.Get("llama", GgmlType.Q8_0), model);

        // A build slot of its own, so packing does not write over the outputs this test runs from.
        Dotnet(SharedData.RepositoryRoot, "pack", "src/ModelGen/ModelGen.csproj", "-c", "Release", "-o", feed, "-p:ModelGenBuildSlot=e2e-pack");

        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="modelgen-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "App.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ModelGen" Version="0.1.0" />
                <AdditionalFiles Include="story.gguf" ModelGenClass="StoryModel" ModelGenNamespace="MyApp" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), $$"""
            using Microsoft.Extensions.AI;
            using ModelGen.Extensions.AI;
            using ModelGen.Runtime.Generation;
            using ModelGen.Runtime.Sampling;

            using var model = MyApp.StoryModel.Load(args[0]);
            var options = new GenerationOptions { MaxTokens = {{Tokens}}, Sampling = SamplingOptions.Greedy };
            await foreach (var piece in model.GenerateAsync("{{Prompt}}", options))
            {
                Console.Write(piece);
            }

            IChatClient client = model.AsChatClient();
            var reply = await client.GetResponseAsync("{{Question}}", new ChatOptions { Temperature = 0, MaxOutputTokens = {{Tokens}} });
            Console.Write("\n--- chat ---\n" + reply.Text);
            """);

        // Packages restore into the test's own folder: a package cache shared across runs would serve an old ModelGen 0.1.0.
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(root, "packages") };
        Dotnet(app, environment, "build", "-c", "Release");
        var output = Dotnet(app, environment, "run", "-c", "Release", "--no-build", "--", model);

        using var generic = GenericModel.Load(model);
        var options = new GenerationOptions { MaxTokens = Tokens, Sampling = SamplingOptions.Greedy };
        var expected = string.Concat(generic.Generator.Generate(Prompt, options));
        Assert.Equal(Tokens, generic.Generator.LastTokens.Length);
        var reply = await generic.AsChatClient().GetResponseAsync(Question, new ChatOptions { Temperature = 0, MaxOutputTokens = Tokens });
        Assert.Equal(expected + "\n--- chat ---\n" + reply.Text, output);
        Directory.Delete(root, recursive: true);
    }

    private static string Dotnet(string directory, params string[] args) => Dotnet(directory, [], args);

    private static string Dotnet(string directory, Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };

        // Build servers that outlive the command would hold its output open, and this test's wait with it.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), $"dotnet {string.Join(' ', args)} did not finish in 5 minutes");
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }
}
