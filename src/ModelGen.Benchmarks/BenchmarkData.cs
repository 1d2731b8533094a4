using System.Runtime.InteropServices;
using ModelGen.Gguf;
using ModelGen.Kernels;
using ModelGen.LlamaCpp;

namespace ModelGen.Benchmarks;

/// <summary>Inputs the benchmarks share: formats, quantized rows in native memory, file locations.</summary>
internal static unsafe class BenchmarkData
{
    /// <summary>Every weight format our kernels implement, in ggml's id order.</summary>
    public static IEnumerable<GgmlType> WeightFormats =>
        Enum.GetValues<GgmlType>().Where(Kernels.WeightFormats.IsSupported);

    /// <summary>Gaussian-ish values with occasional outliers, as trained weights and activations look.</summary>
    public static float[] Floats(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            float g = (float)(random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5);
            values[i] = random.Next(64) == 0 ? 8 * g : g;
        }

        return values;
    }

    /// <summary><paramref name="values"/> quantized by libggml's reference quantizer, as rows of whole blocks.</summary>
    public static byte[] Quantize(GgmlType type, float[] values)
    {
        // ggml has no reference quantizer for F32, whose rows are the floats themselves.
        return type == GgmlType.F32 ? MemoryMarshal.AsBytes(values.AsSpan()).ToArray() : GgmlReference.QuantizeReference(type, values);
    }

    /// <summary>
    /// <paramref name="bytes"/> bytes of cache-line-aligned native memory holding <paramref name="pattern"/>
    /// repeated; release with <see cref="NativeMemory.AlignedFree"/>.
    /// </summary>
    public static byte* Fill(ReadOnlySpan<byte> pattern, long bytes)
    {
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        for (long offset = 0; offset < bytes; offset += pattern.Length)
        {
            var destination = new Span<byte>(memory + offset, (int)Math.Min(pattern.Length, bytes - offset));
            pattern[..destination.Length].CopyTo(destination);
        }

        return memory;
    }

    /// <summary>
    /// ggml's CPU <c>vec_dot</c> for <paramref name="type"/>, called without a GC transition: it neither blocks nor
    /// calls back, and the transition would otherwise be part of what a short dot measures.
    /// </summary>
    public static delegate* unmanaged[SuppressGCTransition]<int, float*, nuint, void*, nuint, void*, nuint, int, void> GgmlVecDot(GgmlType type)
    {
        LlamaCppLibrary.EnsureLoaded();
        return (delegate* unmanaged[SuppressGCTransition]<int, float*, nuint, void*, nuint, void*, nuint, int, void>)
            GgmlNative.GetTypeTraitsCpu(type)->VecDot;
    }

    /// <summary>A shared file for the GGUF benchmarks: <c>shared/</c> beside the repository, or <c>MODELGEN_SHARED_DIR</c>.</summary>
    public static string SharedFile(params string[] parts)
    {
        var shared = Environment.GetEnvironmentVariable("MODELGEN_SHARED_DIR") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : Path.Combine(RepositoryRoot(), "..", "shared");
        var path = Path.GetFullPath(Path.Combine([shared, .. parts]));
        return File.Exists(path) ? path : throw new FileNotFoundException("benchmark input not found: set MODELGEN_SHARED_DIR", path);
    }

    private static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "ModelGen.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException("ModelGen.sln not found above " + AppContext.BaseDirectory);
    }
}
