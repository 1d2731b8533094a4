using System.Diagnostics;
using System.Globalization;
using ModelGen.Gguf;

namespace ModelGen.Cli.Commands;

/// <summary>The median, least and greatest of a figure measured several times.</summary>
internal sealed record Spread(double Median, double Min, double Max)
{
    public static Spread Of(IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        int middle = sorted.Length / 2;
        return new Spread(sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2, sorted[0], sorted[^1]);
    }
}

/// <summary>
/// An engine's cold start over several fresh processes: seconds from starting the process to the model loaded
/// (<see cref="LoadSeconds"/>) and to the logits of the prompt's last token (<see cref="FirstTokenSeconds"/>), and
/// the process's peak resident memory, mapped weights included (<see cref="PeakResidentBytes"/>).
/// </summary>
internal sealed record ColdStart(Spread LoadSeconds, Spread FirstTokenSeconds, Spread PeakResidentBytes);

/// <summary>
/// <c>modelgen bench</c>'s cold-start columns. Each measurement is a fresh process, this executable started as
/// <c>modelgen bench MODEL --child ENGINE -p P -n N -t T [--compiled ASSEMBLY]</c>, which opens the engine as
/// the bench does, prints <see cref="ReadyLine"/>, prefills P random tokens (at least one), prints <see cref="FirstTokenLine"/>
/// and exits when its standard input closes. The parent times the lines from just before it starts the process, and
/// reads the process's peak resident set (<c>VmHWM</c> of <c>/proc/PID/status</c>) while the child waits, before it
/// lets it go.
/// </summary>
internal static class BenchColdStart
{
    /// <summary>What the child prints when its engine is open: weights mapped, caches allocated, libraries loaded.</summary>
    public const string ReadyLine = "ready";

    /// <summary>What the child prints when the prefill has computed the logits the first token is drawn from.</summary>
    public const string FirstTokenLine = "first-token";

    /// <summary>
    /// Cold starts of <paramref name="engines"/> over <paramref name="repetitions"/> rounds, in their order. The engines
    /// take turns within a round, so that a drift of the machine falls on all alike, after a round that is not counted
    /// (it brings the model into the page cache for every engine, as a second start of any program finds it).
    /// </summary>
    public static IReadOnlyList<ColdStart> Measure(IReadOnlyList<string> engines, string model, int promptTokens, int generatedTokens, int threads,
        string? compiled, int repetitions)
    {
        var samples = engines.Select(_ => new List<(double Load, double FirstToken, long PeakResident)>()).ToArray();
        for (int round = -1; round < repetitions; round++)
        {
            for (int e = 0; e < engines.Count; e++)
            {
                var sample = Run(engines[e], model, promptTokens, generatedTokens, threads, compiled);
                if (round >= 0)
                {
                    samples[e].Add(sample);
                }
            }
        }

        return samples.Select(s => new ColdStart(
            Spread.Of(s.Select(x => x.Load).ToArray()),
            Spread.Of(s.Select(x => x.FirstToken).ToArray()),
            Spread.Of(s.Select(x => (double)x.PeakResident).ToArray()))).ToArray();
    }

    /// <summary>
    /// The child's side: opens <paramref name="engine"/> as the bench does (the generated engine from the library
    /// <paramref name="compiled"/>, already built), reports, prefills, reports, and waits for standard input to close.
    /// </summary>
    public static void RunChild(string engine, string model, int promptTokens, int generatedTokens, int threads, string? compiled)
    {
        if (engine == "generated" && compiled is null)
        {
            throw new ArgumentException("--child generated needs --compiled, the library the bench built for the model");
        }

        using var opened = BenchCommand.Open(engine, model, threads, BenchCommand.ContextLength(promptTokens, generatedTokens), compiled);
        Report(ReadyLine);

        // Random token ids, as the speed tests use: what a synthetic model makes of real text means nothing either.
        var random = new Random(1);
        var tokens = new int[Math.Max(promptTokens, 1)];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = random.Next(opened.VocabularySize);
        }

        opened.Prefill(tokens);
        Report(FirstTokenLine);

        // Parked until the parent has read this process's peak memory.
        using var input = Console.OpenStandardInput();
        while (input.ReadByte() >= 0)
        {
        }
    }

    private static void Report(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    /// <summary>One cold start of <paramref name="engine"/> in a new process; see the class summary for the protocol.</summary>
    private static (double Load, double FirstToken, long PeakResident) Run(string engine, string model, int promptTokens, int generatedTokens, int threads,
        string? compiled)
    {
        var start = ThisExecutable();
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        string[] arguments =
        [
            "bench", model, "--child", engine, "-p", promptTokens.ToString(CultureInfo.InvariantCulture),
            "-n", generatedTokens.ToString(CultureInfo.InvariantCulture), "-t", threads.ToString(CultureInfo.InvariantCulture),
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (engine == "generated")
        {
            start.ArgumentList.Add("--compiled");
            start.ArgumentList.Add(compiled!);
        }

        long started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            Expect(process, ReadyLine, engine, errors);
            double load = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Expect(process, FirstTokenLine, engine, errors);
            double firstToken = Stopwatch.GetElapsedTime(started).TotalSeconds;
            long peakResident = PeakResidentBytes(process.Id);
            process.StandardInput.Close();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw Failed(engine, process, errors);
            }

            return (load, firstToken, peakResident);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }
        }
    }

    /// <summary>This executable, as it was started: the apphost itself, or <c>dotnet modelgen.dll</c>.</summary>
    private static ProcessStartInfo ThisExecutable()
    {
        var host = Environment.ProcessPath ?? throw new IOException("bench: cannot find this executable's path to start its cold-start runs");
        var start = new ProcessStartInfo(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BenchColdStart).Assembly.Location);
        }

        return start;
    }

    private static void Expect(Process process, string expected, string engine, Task<string> errors)
    {
        var line = process.StandardOutput.ReadLine();
        if (line is null)
        {
            process.WaitForExit();
            throw Failed(engine, process, errors);
        }

        if (line != expected)
        {
            throw new IOException($"bench: the {engine} cold-start process printed '{DisplayText.Escape(line)}' where '{expected}' was expected");
        }
    }

    /// <summary>The child's own error line (it reports bad input as one), or its exit code.</summary>
    private static IOException Failed(string engine, Process process, Task<string> errors)
    {
        var last = errors.Result.TrimEnd('\n').Split('\n')[^1];
        return new IOException($"bench: the {engine} cold-start process failed with exit code {process.ExitCode}" + (last.Length > 0 ? $": {last}" : ""));
    }

    /// <summary>The <c>VmHWM</c> of a live process: the most resident memory it has had, anonymous and mapped files alike.</summary>
    private static long PeakResidentBytes(int processId)
    {
        var status = $"/proc/{processId}/status";
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                // "VmHWM:     41236 kB"
                var kibibytes = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kibibytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new IOException($"bench: {status} has no VmHWM line, so the peak memory of a process cannot be read here");
    }
}
