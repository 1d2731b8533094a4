using ModelGen.Cli.Publishing;
using ModelGen.Gguf;
using ModelGen.Runtime.Quantization;
using ModelGen.Runtime.Synthesis;

namespace ModelGen.Benchmarks;

/// <summary>
/// The models <see cref="ModelBenchmarks"/> runs. They are made on first use the way docs/PERFORMANCE.md makes them
/// (random F16 weights of the shape with llama.cpp's SPM vocabulary, then quantized), since a 1.1B model has no place
/// in git, and kept in <c>$XDG_CACHE_HOME/modelgen/bench-models</c> (else <c>~/.cache/modelgen/bench-models</c>) so
/// that later runs skip the minutes this takes.
/// </summary>
internal static class BenchmarkModels
{
    /// <summary>The quantizations benchmarked: the two common 32-element formats and the usual K-quant mix.</summary>
    public static IReadOnlyList<QuantizationType> Types { get; } = [QuantizationType.Q8_0, QuantizationType.Q4_0, QuantizationType.Q4_K_M];

    private static string Folder => Path.Combine(ModelProject.DefaultCacheRoot, "bench-models");

    /// <summary>The path of <paramref name="shape"/> quantized to <paramref name="type"/>, made first if it is missing.</summary>
    public static string Get(ModelShape shape, QuantizationType type)
    {
        var path = PathOf(shape, type);
        if (!File.Exists(path))
        {
            Create(shape);
        }

        return path;
    }

    /// <summary>
    /// The names <c>modelgen synth</c> users pick (<c>smol-135m-Q4_K_M.gguf</c>): the model's file name also names the
    /// generated engine's cached project, so a model made by hand and one made here share that build.
    /// </summary>
    private static string PathOf(ModelShape shape, QuantizationType type) => Path.Combine(Folder, $"{shape.Name}-{type}.gguf");

    /// <summary>
    /// Synthesizes the F16 model once and quantizes every missing type from it, then deletes it (TinyLlama's is
    /// 2.2 GB). Files are written under names unique to this process and renamed when complete, so an interrupted
    /// run, or two at once, never leave a partial model under a final name.
    /// </summary>
    private static void Create(ModelShape shape)
    {
        var vocabulary = BenchmarkData.SharedFile("vocab", "ggml-vocab-llama-spm.gguf");
        Directory.CreateDirectory(Folder);
        var suffix = $".{Environment.ProcessId}.tmp";
        var f16 = Path.Combine(Folder, $"{shape.Name}-F16.gguf{suffix}");
        try
        {
            Console.WriteLine($"ModelBenchmarks: synthesizing {shape.Name} F16 in {Folder} (once; this takes a while for the large shapes)");
            ModelSynthesizer.Write(new SynthesisOptions { Shape = shape, WeightType = GgmlType.F16, VocabularyDonor = vocabulary }, f16);
            foreach (var type in Types.Where(type => !File.Exists(PathOf(shape, type))))
            {
                Console.WriteLine($"ModelBenchmarks: quantizing {shape.Name} to {type}");
                var temporary = PathOf(shape, type) + suffix;
                try
                {
                    ModelQuantizer.Quantize(f16, temporary, type);
                    File.Move(temporary, PathOf(shape, type), overwrite: true);
                }
                finally
                {
                    File.Delete(temporary);
                }
            }
        }
        finally
        {
            File.Delete(f16);
        }
    }
}
