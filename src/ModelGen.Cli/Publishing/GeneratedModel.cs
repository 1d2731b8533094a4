using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.Loader;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli.Publishing;

/// <summary>A model compiled into its class by a library build (cached per model header) and loaded into this process.</summary>
internal static class GeneratedModel
{
    /// <summary>
    /// Builds (or brings up to date) the library that compiles <paramref name="model"/> into its class and returns the
    /// library's path. <paramref name="step"/> is told the build's steps.
    /// </summary>
    public static string Build(string model, string cacheRoot, Action<string>? step = null) => ModelProject.ForLibrary(model, cacheRoot, ModelGenSource.OfThisModelgen).Build(step);

    /// <summary>
    /// Calls <c>Load(path, threads, memoryBudget, sequences)</c> of the class compiled into <paramref name="assembly"/>
    /// (what <see cref="Build"/> returned for <paramref name="model"/>); the result is also <see cref="IDisposable"/>.
    /// Separate from the build, so that a process that only runs the model (the bench's cold starts) pays none.
    /// </summary>
    public static IForwardPass Load(string assembly, string model, int threads)
    {
        // The library references ModelGen.Runtime by name, so it binds to the runtime this process already runs on.
        var type = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.GetFullPath(assembly))
                       .GetType($"{ModelProject.ModelNamespace}.{ModelProject.ModelClass}", throwOnError: true)!;
        var load = type.GetMethod("Load", [typeof(string), typeof(int), typeof(long), typeof(int)])
                   ?? throw new InvalidOperationException($"{type} has no Load(string, int, long, int)");
        try
        {
            return (IForwardPass)load.Invoke(null, [model, threads, 0L, 1])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
