using System.Reflection;
using System.Runtime.InteropServices;

namespace ModelGen.LlamaCpp;

/// <summary>
/// Finds and loads the pinned llama.cpp build (libggml-base, the best libggml-cpu variant for this CPU, libggml,
/// libllama) and routes this assembly's P/Invoke declarations to it.
/// </summary>
/// <remarks>
/// The libraries are looked up in <c>MODELGEN_LLAMACPP_DIR</c> if set, else in <c>.cache/llama.cpp/VERSION</c>
/// of the nearest enclosing folder that has one (the repository, where <c>eng/fetch-llamacpp.sh</c> puts it).
/// The CPU variant is chosen as ggml chooses it: the highest <c>ggml_backend_score</c>.
/// </remarks>
public static class LlamaCppLibrary
{
    internal const string GgmlBase = "ggml-base";
    internal const string GgmlCpu = "ggml-cpu";
    internal const string Ggml = "ggml";
    internal const string Llama = "llama";

    private static readonly Lazy<LoadedLibraries> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The llama.cpp package version this build pins.</summary>
    public static string Version { get; } =
        typeof(LlamaCppLibrary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "LlamaCppVersion").Value!;

    /// <summary>The folder the libraries are loaded from.</summary>
    public static string Directory => Loaded.Value.Directory;

    /// <summary>File name of the CPU backend variant in use (e.g. <c>libggml-cpu-zen4.so</c>).</summary>
    public static string CpuVariant => Path.GetFileName(Loaded.Value.CpuPath);

    /// <summary>Loads the libraries once; throws <see cref="DllNotFoundException"/> with what to do when they are missing.</summary>
    public static void EnsureLoaded() => _ = Loaded.Value;

    private sealed record LoadedLibraries(string Directory, string CpuPath, nint Base, nint Cpu, nint Ggml, nint Llama);

    private static LoadedLibraries Load()
    {
        var dir = FindDirectory() ?? throw new DllNotFoundException(
            $"llama.cpp {Version} reference libraries not found: run eng/fetch-llamacpp.sh {Version} .cache/llama.cpp/{Version} " +
            "in the repository (building any test project does it), or set MODELGEN_LLAMACPP_DIR.");

        nint baseLib = NativeLibrary.Load(Path.Combine(dir, "libggml-base.so"));
        var cpuPath = BestCpuVariant(dir);
        nint cpu = NativeLibrary.Load(cpuPath);
        nint ggml = NativeLibrary.Load(Path.Combine(dir, "libggml.v0.5.0.so"));
        nint llama = NativeLibrary.Load(Path.Combine(dir, "libllama.v0.5.0.so"));

        // Register the CPU backend with ggml's registry so libllama finds the variant we call directly:
        // dlopen of the same path returns the same handle, so both share one copy of its state.
        unsafe
        {
            var loadBackend = (delegate* unmanaged<byte*, nint>)NativeLibrary.GetExport(ggml, "ggml_backend_load");
            var pathBytes = System.Text.Encoding.UTF8.GetBytes(cpuPath + "\0");
            fixed (byte* p = pathBytes)
            {
                loadBackend(p);
            }

            ((delegate* unmanaged<void>)NativeLibrary.GetExport(cpu, "ggml_cpu_init"))();
        }

        var loaded = new LoadedLibraries(dir, cpuPath, baseLib, cpu, ggml, llama);
        NativeLibrary.SetDllImportResolver(typeof(LlamaCppLibrary).Assembly, (name, _, _) => name switch
        {
            GgmlBase => loaded.Base,
            GgmlCpu => loaded.Cpu,
            Ggml => loaded.Ggml,
            Llama => loaded.Llama,
            _ => 0,
        });
        return loaded;
    }

    private static string? FindDirectory()
    {
        if (Environment.GetEnvironmentVariable("MODELGEN_LLAMACPP_DIR") is { Length: > 0 } fromEnv)
        {
            return File.Exists(Path.Combine(fromEnv, "libggml-base.so")) ? fromEnv : null;
        }

        foreach (var start in new[] { AppContext.BaseDirectory, System.IO.Directory.GetCurrentDirectory() })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, ".cache", "llama.cpp", Version);
                if (File.Exists(Path.Combine(candidate, ".complete")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static unsafe string BestCpuVariant(string dir)
    {
        string? best = null;
        nint bestHandle = 0;
        int bestScore = 0;
        foreach (var path in System.IO.Directory.GetFiles(dir, "libggml-cpu-*.so").Order(StringComparer.Ordinal))
        {
            if (!NativeLibrary.TryLoad(path, out var handle))
            {
                continue;
            }

            var score = NativeLibrary.TryGetExport(handle, "ggml_backend_score", out var fn) ? ((delegate* unmanaged<int>)fn)() : 0;
            if (score > bestScore)
            {
                if (bestHandle != 0)
                {
                    NativeLibrary.Free(bestHandle);
                }

                (best, bestHandle, bestScore) = (path, handle, score);
            }
            else
            {
                NativeLibrary.Free(handle);
            }
        }

        return best ?? throw new DllNotFoundException($"no libggml-cpu variant in {dir} supports this CPU");
    }
}
