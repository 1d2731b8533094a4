using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Runtime.Loader;
using ModelGen.Runtime.Generation;

namespace ModelGen.Generator.Tests;

/// <summary>A generated class compiled in memory, loaded in a collectible context, and one model loaded through it.</summary>
internal sealed class CompiledModel : IDisposable
{
    private readonly AssemblyLoadContext _context;
    private readonly MethodInfo _load;
    private readonly int _threads;

    public CompiledModel(string source, string path, int threads, string typeName = "Compiled.TestModel")
    {
        (_context, var assembly) = GeneratorHarness.CompileAndLoad(source);
        _load = assembly.GetType(typeName, throwOnError: true)!.GetMethod("Load", [typeof(string), typeof(int), typeof(long), typeof(int)])!;
        _threads = threads;
        Model = Load(path);
    }

    public IForwardPass Model { get; }

    /// <summary>Calls the class's static <c>Load</c>, unwrapping what it throws; the caller disposes the model.</summary>
    public IForwardPass Load(string path, int sequences = 1)
    {
        try
        {
            return (IForwardPass)_load.Invoke(null, [path, _threads, 0L, sequences])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    public void Dispose()
    {
        ((IDisposable)Model).Dispose();
        _context.Unload();
    }
}
