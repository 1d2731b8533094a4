using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using ModelGen.Gguf;

namespace ModelGen.Cli.Publishing;

/// <summary>
/// A project that compiles one GGUF file into its model class (the file is an AdditionalFile, as in any app using
/// ModelGen): a NativeAOT executable for <c>modelgen publish</c>, or a library the JIT runs for <c>modelgen bench</c>.
/// Projects live in a cache folder per model header and kind, so that building the same model again is incremental.
/// ModelGen itself comes from a <see cref="ModelGenSource"/>: the package the installed tool carries, or the checkout.
/// </summary>
internal sealed class ModelProject
{
    /// <summary>The namespace and class the model is compiled into.</summary>
    public const string ModelNamespace = "ModelGen.Published";

    public const string ModelClass = "CompiledModel";

    private ModelProject(string directory, string assemblyName, ModelGenSource source)
    {
        Directory = directory;
        AssemblyName = assemblyName;
        Source = source;
    }

    /// <summary>The project folder.</summary>
    public string Directory { get; }

    /// <summary>The built assembly's name: the model file's name without extension.</summary>
    public string AssemblyName { get; }

    /// <summary>Where the project takes ModelGen from.</summary>
    public ModelGenSource Source { get; }

    private string ProjectFile => Path.Combine(Directory, AssemblyName + ".csproj");

    /// <summary>
    /// Writes an executable project for <paramref name="model"/> that publishes NativeAOT for <paramref name="target"/>,
    /// linked with <paramref name="toolchain"/> when the target is linux-arm64 and this machine is not.
    /// </summary>
    public static ModelProject ForExecutable(string model, PublishTarget target, string cacheRoot, ModelGenSource source, Arm64Toolchain? toolchain = null)
    {
        if (target.IsCrossArm64 && toolchain is null)
        {
            throw new ArgumentException($"--cpu {target.Name} is cross-linked, and no linux-arm64 toolchain was given", nameof(toolchain));
        }

        // NativeAOT passes --target and --sysroot to the driver and -fuse-ld=lld; a driver whose name has "clang" in
        // it makes llvm-objcopy, which knows every architecture, the symbol stripper.
        var crossLinking = !target.IsCrossArm64 ? "" : $"""
                <CppCompilerAndLinker>{MsBuildValue(toolchain!.LinkerDriver)}</CppCompilerAndLinker>
                <SysRoot>{MsBuildValue(toolchain.SysRoot)}</SysRoot>
                <LinkerFlavor>lld</LinkerFlavor>

            """;
        var properties = $"""
                <OutputType>Exe</OutputType>
                <TargetFramework>{BuildSettings.TargetFramework}</TargetFramework>
                <PublishAot>true</PublishAot>
                <RuntimeIdentifier>{target.RuntimeIdentifier}</RuntimeIdentifier>
                <SelfContained>true</SelfContained>
                <StripSymbols>true</StripSymbols>
                <OptimizationPreference>Speed</OptimizationPreference>
                <IlcInstructionSet>{target.InstructionSet}</IlcInstructionSet>
            {crossLinking}
            """;
        // The dot-product check is C, compiled by the driver that links (clang), and linked as an object, so that its
        // constructor runs before the runtime's own instruction set check.
        var dotProductCheck = !target.RequiresDotProduct ? "" : """
              <Target Name="CompileDotProductCheck" BeforeTargets="LinkNative" Inputs="DotProductCheck.c" Outputs="$(IntermediateOutputPath)DotProductCheck.o">
                <PropertyGroup>
                  <DotProductCheckSysRoot Condition="'$(SysRoot)' != ''">--sysroot=&quot;$(SysRoot)&quot;</DotProductCheckSysRoot>
                </PropertyGroup>
                <Exec Command="&quot;$(CppCompilerAndLinker)&quot; --target=aarch64-linux-gnu $(DotProductCheckSysRoot) -O2 -fPIC -c DotProductCheck.c -o &quot;$(IntermediateOutputPath)DotProductCheck.o&quot;" />
              </Target>
              <ItemGroup>
                <NativeLibrary Include="$(IntermediateOutputPath)DotProductCheck.o" />
              </ItemGroup>

            """;
        var project = Create(model, "aot-" + target.Name, properties, cacheRoot, source, dotProductCheck);
        foreach (var file in new[] { "Program.cs", "EmbeddedWeights.cs", "ForwardPassEngine.cs", "Npy.cs" })
        {
            WriteIfChanged(Path.Combine(project.Directory, file), ReadTemplate(file));
        }

        if (target.RequiresDotProduct)
        {
            WriteIfChanged(Path.Combine(project.Directory, "DotProductCheck.c"),
                ReadTemplate("DotProductCheck.c").Replace("MODELGEN_PROGRAM_NAME", project.AssemblyName, StringComparison.Ordinal));
        }

        return project;
    }

    /// <summary>Writes a library project for <paramref name="model"/> for the JIT, as the benchmark loads it.</summary>
    public static ModelProject ForLibrary(string model, string cacheRoot, ModelGenSource source) =>
        Create(model, "jit", $"""
                    <OutputType>Library</OutputType>
                    <TargetFramework>{BuildSettings.TargetFramework}</TargetFramework>
            """, cacheRoot, source);

    /// <summary>The default cache: <c>$XDG_CACHE_HOME/modelgen</c>, else <c>~/.cache/modelgen</c>.</summary>
    public static string DefaultCacheRoot =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "modelgen");

    /// <summary>
    /// Runs <c>dotnet publish</c> into the project's <c>publish</c> folder and returns the executable's path, telling
    /// <paramref name="step"/> each step as the build log shows it (restoring, compiling a project, linking).
    /// </summary>
    public string Publish(Action<string>? step = null)
    {
        var output = Path.Combine(Directory, "publish");
        Dotnet(step, ["publish", ProjectFile, "-c", "Release", "-o", output, .. BuildSlot("modelgen-aot")]);
        return Path.Combine(output, AssemblyName);
    }

    /// <summary>
    /// Runs <c>dotnet build</c> into the project's <c>build</c> folder and returns the assembly's path, telling
    /// <paramref name="step"/> each step as the build log shows it.
    /// </summary>
    public string Build(Action<string>? step = null)
    {
        var output = Path.Combine(Directory, "build");
        Dotnet(step, ["build", ProjectFile, "-c", "Release", "-o", output, .. BuildSlot("modelgen-jit")]);
        return Path.Combine(output, AssemblyName + ".dll");
    }

    /// <summary>
    /// The checkout's projects build into a slot of their own (artifacts/slot-NAME), so that a compiled model's build
    /// does not write over the outputs modelgen itself runs from.
    /// </summary>
    private string[] BuildSlot(string name) => Source is ModelGenSource.Checkout ? [$"-p:ModelGenBuildSlot={name}"] : [];

    private static ModelProject Create(string model, string kind, string properties, string cacheRoot, ModelGenSource source, string targets = "")
    {
        model = Path.GetFullPath(model);
        if (model.Any(c => DisplayText.IsUnsafe(c)))
        {
            throw new ArgumentException($"{DisplayText.Escape(model)}: a model path with control characters cannot go into a project file; rename the file");
        }

        var name = AssemblyNameOf(model);
        var directory = Path.Combine(cacheRoot, $"{name}-{HeaderDigest(model)}", kind);
        System.IO.Directory.CreateDirectory(directory);

        // The package brings the runtime, the generator, and the props that show the generator the AdditionalFile's
        // metadata; from the checkout, the projects are referenced one by one and the props imported.
        var (import, feed, references) = source switch
        {
            ModelGenSource.Package package => (
                "",
                $"    <RestoreAdditionalProjectSources>{MsBuildValue(package.Feed)}</RestoreAdditionalProjectSources>\n",
                $"    <PackageReference Include=\"ModelGen\" Version=\"{MsBuildValue(package.Version)}\" />"),
            ModelGenSource.Checkout checkout => (
                $"  <Import Project=\"{MsBuildValue(checkout.RepositoryRoot)}/src/ModelGen/buildTransitive/ModelGen.props\" />\n",
                "",
                $"""
                    <ProjectReference Include="{MsBuildValue(checkout.RepositoryRoot)}/src/ModelGen.Runtime/ModelGen.Runtime.csproj" />
                    <ProjectReference Include="{MsBuildValue(checkout.RepositoryRoot)}/generators/ModelGen.Generator/ModelGen.Generator.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
                """),
            _ => throw new UnreachableException(),
        };
        var project = new ModelProject(directory, name, source);
        WriteIfChanged(project.ProjectFile, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <!-- Written by modelgen: the model compiled into {ModelNamespace}.{ModelClass}. -->
            {import}  <PropertyGroup>
            {properties}
                <AssemblyName>{name}</AssemblyName>
                <RootNamespace>{ModelNamespace}</RootNamespace>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <InvariantGlobalization>true</InvariantGlobalization>
            {feed}  </PropertyGroup>
              <ItemGroup>
            {references}
                <AdditionalFiles Include="{MsBuildValue(model)}" ModelGenClass="{ModelClass}" ModelGenNamespace="{ModelNamespace}" />
              </ItemGroup>
            {targets}</Project>
            """);
        return project;
    }

    /// <summary>
    /// The executable's name: the model file's name without extension, with anything but letters, digits, '.', '-'
    /// and '_' replaced, so that it is a plain file name and a plain MSBuild value.
    /// </summary>
    internal static string AssemblyNameOf(string model)
    {
        var name = new StringBuilder();
        foreach (char c in Path.GetFileNameWithoutExtension(model))
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        return name.Length == 0 || name[0] == '.' ? "model" + name : name.ToString();
    }

    /// <summary>
    /// A path as an MSBuild value in an XML attribute: MSBuild's own special characters (properties, items, metadata,
    /// separators, wildcards) written as <c>%XX</c>, then XML-escaped, so that any file name stays one literal path.
    /// </summary>
    internal static string MsBuildValue(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '%' or '$' or '@' or '\'' or ';' or '?' or '*')
            {
                escaped.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                escaped.Append(c);
            }
        }

        return System.Security.SecurityElement.Escape(escaped.ToString());
    }

    /// <summary>
    /// A digest of the GGUF header (metadata and tensor table), which is all the generated code depends on: the
    /// weights may change without a rebuild, since the model class maps them at load.
    /// </summary>
    private static string HeaderDigest(string model)
    {
        var header = GgufReader.ReadHeader(model, GgufReadOptions.HeaderOnly);
        using var file = new FileStream(model, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var bytes = new byte[header.DataOffset];
        file.ReadExactly(bytes);
        return Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
    }

    /// <summary>Leaves an unchanged file untouched, so that MSBuild's incremental checks see nothing new.</summary>
    private static void WriteIfChanged(string path, string text)
    {
        if (!File.Exists(path) || File.ReadAllText(path) != text)
        {
            File.WriteAllText(path, text);
        }
    }

    private static string ReadTemplate(string name)
    {
        using var stream = typeof(ModelProject).Assembly.GetManifestResourceStream("Template/" + name)
                           ?? throw new InvalidOperationException($"modelgen was built without its template {name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static void Dotnet(Action<string>? step, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };

        // Build servers would outlive this command; the log is shown only if the build fails.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        step?.Invoke("restoring");
        using var process = Process.Start(start) ?? throw new IOException("cannot start dotnet");
        var stderr = process.StandardError.ReadToEndAsync();
        var log = new StringBuilder();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            log.AppendLine(line);
            if (step is not null && BuildStep(line) is { } next)
            {
                step(next);
            }
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Console.Error.Write(log);
            Console.Error.Write(stderr.Result);
            throw new IOException($"dotnet {args[0]} {args[1]} failed with exit code {process.ExitCode} (its log is above)");
        }
    }

    /// <summary>
    /// The step a line of MSBuild's console log starts, if any: a project's output line (<c>  Name -> path</c>) ends
    /// its compilation, and ILCompiler's <c>Generating native code</c> starts the NativeAOT compile and link.
    /// </summary>
    private static string? BuildStep(string line)
    {
        var trimmed = line.Trim();
        if (trimmed.StartsWith("Generating native code", StringComparison.Ordinal))
        {
            return "compiling native code and linking";
        }

        int arrow = trimmed.IndexOf(" -> ", StringComparison.Ordinal);
        return arrow > 0 && !trimmed[..arrow].Contains(' ', StringComparison.Ordinal) ? $"compiled {trimmed[..arrow]}" : null;
    }
}

/// <summary>Where modelgen was built from, recorded at build time: what a compiled model builds against.</summary>
internal static class BuildSettings
{
    /// <summary>The checkout modelgen was built in (<see cref="ModelGenSource.Checkout"/>).</summary>
    public static string RepositoryRoot => Metadata("ModelGenRepositoryRoot");

    /// <summary>The version of the ModelGen package the packed tool carries (<see cref="ModelGenSource.Package"/>).</summary>
    public static string PackageVersion => Metadata("ModelGenPackageVersion");

    public static string TargetFramework => Metadata("ModelGenTargetFramework");

    /// <summary>Where eng/fetch-arm64-toolchain.sh puts the linux-arm64 linker driver and sysroot.</summary>
    public static string Arm64ToolchainDirectory => Metadata("ModelGenArm64ToolchainDir");

    private static string Metadata(string key) =>
        typeof(BuildSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"modelgen was built without the {key} metadata");
}
