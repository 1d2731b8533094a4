namespace ModelGen.Cli.Publishing;

/// <summary>
/// Where the project of a compiled model (<see cref="ModelProject"/>) takes ModelGen's runtime and generator from.
/// The installed tool carries the ModelGen package in a folder feed beside <c>modelgen.dll</c> and references it as
/// any app does; a build in the checkout has no package beside it and references the checkout's projects, so that
/// a change to the runtime or the generator is in the next compiled model without packing anything.
/// </summary>
internal abstract record ModelGenSource
{
    private ModelGenSource()
    {
    }

    /// <summary>The source this modelgen builds with: the package beside it if it has one, else its checkout.</summary>
    public static ModelGenSource OfThisModelgen => Find(AppContext.BaseDirectory);

    /// <summary>
    /// The package in <c>packages/</c> under <paramref name="toolDirectory"/> if it is there (the installed tool), else
    /// the checkout modelgen was built in if it still has the sources.
    /// </summary>
    internal static ModelGenSource Find(string toolDirectory)
    {
        var feed = Path.Combine(toolDirectory, "packages");
        var version = BuildSettings.PackageVersion;
        if (File.Exists(Path.Combine(feed, $"ModelGen.{version}.nupkg")))
        {
            return new Package(feed, version);
        }

        var repository = Path.TrimEndingDirectorySeparator(BuildSettings.RepositoryRoot);
        if (File.Exists(Path.Combine(repository, "src/ModelGen.Runtime/ModelGen.Runtime.csproj")))
        {
            return new Checkout(repository);
        }

        throw new NotSupportedException(
            $"compiling a model needs the ModelGen package, which is not in {feed}, or the ModelGen sources modelgen was built from, " +
            $"which {repository} no longer has; install the tool from a feed that eng/pack.sh made");
    }

    /// <summary>Where the linux-arm64 cross toolchain is fetched to, and the script that fetches it.</summary>
    public abstract (string Directory, string FetchScript) Arm64Toolchain(string cacheRoot);

    /// <summary>The ModelGen package <paramref name="Version"/>, restored from the folder feed <paramref name="Feed"/> and the user's own sources.</summary>
    public sealed record Package(string Feed, string Version) : ModelGenSource
    {
        /// <summary>The tool carries the fetch script beside its assembly; the toolchain goes to modelgen's cache.</summary>
        public override (string Directory, string FetchScript) Arm64Toolchain(string cacheRoot) =>
            (Path.Combine(cacheRoot, "arm64-toolchain"), Path.Combine(Path.GetDirectoryName(Feed)!, "eng", "fetch-arm64-toolchain.sh"));
    }

    /// <summary>The projects of the checkout at <paramref name="RepositoryRoot"/>.</summary>
    public sealed record Checkout(string RepositoryRoot) : ModelGenSource
    {
        /// <summary>The checkout's own script and <c>.cache</c>, which the tests fetch into too.</summary>
        public override (string Directory, string FetchScript) Arm64Toolchain(string cacheRoot) =>
            (BuildSettings.Arm64ToolchainDirectory.TrimEnd('/'), Path.Combine(RepositoryRoot, "eng", "fetch-arm64-toolchain.sh"));
    }
}
