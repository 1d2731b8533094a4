using System.CommandLine;
using System.Globalization;
using ModelGen.Gguf;
using ModelGen.Cli.Publishing;
using ModelGen.Kernels.Threading;
using ModelGen.LlamaCpp;
using ModelGen.Runtime.Benchmarking;
using ModelGen.Runtime.Engine;
using ModelGen.Runtime.Generation;

namespace ModelGen.Cli.Commands;

/// <summary>
/// <c>modelgen bench MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--engine generated,generic,llama.cpp] [-o md|json|csv]</c>:
/// a llama-bench-like table of each engine's prefill and decode rates, measured in one process, with the decode roofline
/// of this machine, then each engine's cold start (load, first token, peak RSS) measured in fresh processes
/// (<see cref="BenchColdStart"/>). <c>generated</c> is the model compiled into its class (built once per model header, then cached).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CommandLine.ModelArgument();
        var prompt = new Option<int>("-p", "--n-prompt") { Description = "Prompt tokens per prefill run, at least 0", DefaultValueFactory = _ => 512 }
            .Allow(p => p >= 0, "at least 0");
        var generate = new Option<int>("-n", "--n-gen") { Description = "Tokens per decode run, at least 0", DefaultValueFactory = _ => 128 }
            .Allow(n => n >= 0, "at least 0");
        var threads = new Option<int>("-t", "--threads") { Description = $"Threads, 1 to {CommandLine.MaxThreads}", DefaultValueFactory = _ => Environment.ProcessorCount }
            .Allow(t => t is >= 1 and <= CommandLine.MaxThreads, $"between 1 and {CommandLine.MaxThreads}");
        var repetitions = new Option<int>("-r", "--repetitions") { Description = "Repetitions of each test, at least 1", DefaultValueFactory = _ => 5 }
            .Allow(r => r >= 1, "at least 1");
        var engines = new Option<string>("--engine") { Description = "Comma-separated engines: generated, generic, llama.cpp", DefaultValueFactory = _ => "generic,llama.cpp" };
        var output = new Option<string>("-o", "--output") { Description = "Output format: md (a table), json or csv, as llama-bench's", DefaultValueFactory = _ => "md" }
            .Allow(o => o is "md" or "json" or "csv", "md, json or csv");
        // The cold-start runs' side of the protocol (BenchColdStart), not for people.
        var child = new Option<string>("--child") { Hidden = true };
        var compiled = new Option<string>("--compiled") { Hidden = true };
        var command = new Command("bench", "Measure prefill and decode speed of each engine on the same file, and its cold start")
        {
            model, prompt, generate, threads, repetitions, engines, output, child, compiled,
        };
        command.SetAction(result => CommandLine.Run(() =>
        {
            var path = result.GetValue(model) ?? DefaultModel.Path;
            int p = result.GetValue(prompt), n = result.GetValue(generate), t = result.GetValue(threads), r = result.GetValue(repetitions);
            if (result.GetValue(child) is { } childEngine)
            {
                BenchColdStart.RunChild(childEngine, path, p, n, t, result.GetValue(compiled));
                return;
            }

            if (p + n == 0)
            {
                throw new ArgumentException("bench: -p and -n are both 0, so there is nothing to measure");
            }

            var header = GgufReader.ReadHeader(path, GgufReadOptions.HeaderOnly);
            long weightBytes = DecodeBytes(header);

            double bandwidth;
            using (var pool = new KernelThreadPool(t))
            {
                bandwidth = MemoryBandwidth.MeasureRead(pool);
            }

            var opened = new List<IBenchmarkEngine>();
            string? compiledAssembly = null;
            IReadOnlyList<EngineResult> speeds;
            try
            {
                foreach (var name in result.GetValue(engines)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    Console.Error.WriteLine($"modelgen: opening {DisplayText.Escape(name)}");
                    try
                    {
                        if (name == "generated")
                        {
                            compiledAssembly = GeneratedModel.Build(path, ModelProject.DefaultCacheRoot, Progress.StepsToStderr("building the generated engine"));
                        }

                        opened.Add(Open(name, path, t, ContextLength(p, n), compiledAssembly));
                    }
                    catch (DllNotFoundException e) when (name == "llama.cpp")
                    {
                        // The reference library comes with the test setup, not with modelgen: measure the other engines.
                        Console.Error.WriteLine($"modelgen: skipping llama.cpp: {DisplayText.Escape(e.Message, 1000)}");
                    }
                }

                if (opened.Count == 0)
                {
                    throw new ArgumentException("bench: no engine left to measure");
                }

                speeds = Measure(opened, p, n, r);
            }
            catch (Exception e) when (e is MissingMethodException or MissingFieldException or TypeLoadException && opened.Any(engine => engine.Name == "generated"))
            {
                // The class is compiled against the repository's current sources, and runs on this build's runtime.
                throw new NotSupportedException(
                    $"the compiled model does not fit this modelgen's runtime: the ModelGen sources changed since modelgen was built, so rebuild it ({e.Message})");
            }
            finally
            {
                foreach (var engine in opened)
                {
                    engine.Dispose();
                }
            }

            // After the speed tests, with their engines closed: this process holds no model while the others start.
            var names = opened.Select(engine => engine.Name).ToArray();
            Console.Error.WriteLine($"modelgen: starting {string.Join(", ", names)} in fresh processes, in turns");
            var coldStarts = BenchColdStart.Measure(names, path, p, n, t, compiledAssembly, r);

            var rows = speeds.Select((speed, e) => new BenchRow(speed, coldStarts[e])).ToArray();
            var report = new BenchReport(Path.GetFileName(path), header.TensorBytes, header.ParameterCount, t, p, n, r, bandwidth, weightBytes, rows);
            switch (result.GetValue(output))
            {
                case "json":
                    report.WriteJson(Console.OpenStandardOutput());
                    break;
                case "csv":
                    report.WriteCsv(Console.Out);
                    break;
                default:
                    report.WriteMarkdown(Console.Out);
                    break;
            }
        }));
        return command;
    }

    /// <summary>
    /// Results in the order of <paramref name="engines"/>. Our engines take turns, repetition by repetition; llama.cpp
    /// runs its repetitions on its own, because other engines running between them slow it down badly (micro Q8_0
    /// decode: 2,476 tok/s alone, 747 and 1,422 in turns), while ours are not affected by it.
    /// </summary>
    private static IReadOnlyList<EngineResult> Measure(List<IBenchmarkEngine> engines, int p, int n, int r)
    {
        var results = new EngineResult[engines.Count];
        var inTurns = Enumerable.Range(0, engines.Count).Where(e => engines[e] is not LlamaCppEngine).ToArray();
        if (inTurns.Length > 0)
        {
            Console.Error.WriteLine($"modelgen: benchmarking {string.Join(", ", inTurns.Select(e => engines[e].Name))} in turns");
            var measured = EngineBenchmark.Run(inTurns.Select(e => engines[e]).ToArray(), p, n, r);
            for (int i = 0; i < inTurns.Length; i++)
            {
                results[inTurns[i]] = measured[i];
            }
        }

        for (int e = 0; e < engines.Count; e++)
        {
            if (engines[e] is LlamaCppEngine)
            {
                Console.Error.WriteLine("modelgen: benchmarking llama.cpp");
                results[e] = EngineBenchmark.Run(engines[e], p, n, r);
            }
        }

        return results;
    }

    /// <summary>
    /// Bytes a decode step reads: every tensor but the token embedding, of which only one row is read (unless tied), and
    /// of a mixture's 3-D expert tensors only the share of the experts a token uses.
    /// </summary>
    internal static long DecodeBytes(GgufHeader header)
    {
        var arch = header.Metadata.Architecture;
        long experts = arch is null ? 0 : header.Metadata.TryGetValue($"{arch}.expert_count", out _) ? header.Metadata.GetInt64($"{arch}.expert_count") : 0;
        long used = experts > 0 && header.Metadata.TryGetValue($"{arch}.expert_used_count", out _) ? header.Metadata.GetInt64($"{arch}.expert_used_count") : experts;
        return header.Tensors
            .Where(tensor => tensor.Name != "token_embd.weight" || header.FindTensor("output.weight") is null)
            .Sum(tensor => tensor.Shape.Count == 3 && experts > 0 ? tensor.ByteLength / experts * used : tensor.ByteLength);
    }

    /// <summary>KV cache positions the engines are opened with: the longer test's tokens and a margin.</summary>
    internal static int ContextLength(int promptTokens, int generatedTokens) => promptTokens + generatedTokens + 16;

    /// <summary>
    /// Opens engine <paramref name="name"/> on <paramref name="path"/>; <c>generated</c> from the library
    /// <paramref name="compiled"/> when given, else from the one built (or found up to date) now. Internal rather than
    /// private so that the BenchmarkDotNet suite (ModelGen.Benchmarks) opens each engine exactly as this command does.
    /// </summary>
    internal static IBenchmarkEngine Open(string name, string path, int threads, int context, string? compiled = null) => name switch
    {
        "generated" => Engine(name, GeneratedModel.Load(
            compiled ?? GeneratedModel.Build(path, ModelProject.DefaultCacheRoot, Progress.StepsToStderr("building the generated engine")), path, threads)),
        "generic" => Engine(name, GenericModel.Load(path, new ModelOptions { Threads = threads, ContextLength = context, BatchSize = 512 })),
        "llama.cpp" => new LlamaCppEngine(LlamaContext.Load(path, context, threads, batchSize: 512)),
        _ => throw new ArgumentException($"--engine: unknown engine '{name}' (generated, generic, llama.cpp)"),
    };

    private static ForwardPassEngine Engine(string name, IForwardPass model) => new(name, model, (IDisposable)model);

    private sealed class LlamaCppEngine(LlamaContext context) : IBenchmarkEngine
    {
        private readonly int[] _one = new int[1];

        public string Name => "llama.cpp";

        public int VocabularySize => context.VocabularySize;

        public void Prefill(ReadOnlySpan<int> tokens)
        {
            context.Clear();
            context.Decode(tokens, 0, allLogits: false);
        }

        public void Decode(int token, int position)
        {
            _one[0] = token;
            context.Decode(_one, position, allLogits: false);
        }

        public void Dispose() => context.Dispose();
    }
}
