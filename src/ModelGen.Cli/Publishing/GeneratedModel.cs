using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.Loader;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli.Publishing;

/// <summary>A model compiled into its class by a library build (cached per model header) and loaded into this process.</summary>
internal static class GeneratedModel
{
    /// <summary>
    /// Builds (or reuses) the model's class and calls its <c>Load(path, threads, memoryBudget)</c>; the result is also
    /// <see cref="IDisposable"/>. <paramref name="step"/> is told the build's steps.
    /// </summary>
    public static IForwardPass Load(string model, int threads, string cacheRoot, Action<string>? step = null)
    {
        var built = ModelProject.ForLibrary(model, cacheRoot, ModelGenSource.OfThisModelgen).Build(step);

        // The library references ModelGen.Runtime by name, so it binds to the runtime this process already runs on
        // (the same assembly, whether the library was built against the checkout's project or the package's copy).
        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(built);
        var type = assembly.GetType($"{ModelProject.ModelNamespace}.{ModelProject.ModelClass}", throwOnError: true)!;
        var load = type.GetMethod("Load", [typeof(string), typeof(int), typeof(long)])
                   ?? throw new InvalidOperationException($"{type} has no Load(string, int, long)");
        try
        {
            return (IForwardPass)load.Invoke(null, [model, threads, 0L])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
