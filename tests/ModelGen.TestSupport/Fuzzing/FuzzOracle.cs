using System.Diagnostics;

namespace ModelGen.TestSupport.Fuzzing;

/// <summary>What a fuzz run saw: how many mutants were accepted and refused, and every oracle failure.</summary>
public sealed record FuzzReport(int Accepted, int Refused, IReadOnlyList<string> Failures, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{Accepted} accepted, {Refused} refused, {Failures.Count} failed in {Elapsed.TotalSeconds:F1} s" +
        string.Concat(Failures.Select(f => "\n" + f));
}

/// <summary>
/// The rule every hostile file is held to: the target accepts it or refuses it with one of its documented exception
/// types, within a time bound, without allocating much more than the seed does. A failing mutant's bytes are written
/// to <see cref="FailureDirectory"/> so it can be replayed and kept as a regression case.
/// </summary>
/// <param name="target">What is run, for reports and file names: <c>reader</c>, <c>tokenizer</c>, <c>loader</c>, <c>generator</c>.</param>
/// <param name="run">Runs the target on a mutant; returning normally is acceptance.</param>
/// <param name="documented">The exception types the target documents for bad input.</param>
public sealed class FuzzOracle(string target, Action<byte[]> run, params Type[] documented)
{
    private const int MaxFilesWritten = 20;

    /// <summary>Where failing mutants are written: <c>$TMPDIR/modelgen-fuzz-failures</c>.</summary>
    public static string FailureDirectory { get; } = Path.Combine(Path.GetTempPath(), "modelgen-fuzz-failures");

    /// <summary>The most one mutant may take; the target runs on its own thread so a hang is seen, not suffered.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The most the first run of the seed may take.</summary>
    public TimeSpan WarmUpTimeLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>What one mutant may allocate beyond what the seed allocates.</summary>
    public long AllocationAllowance { get; init; } = 64L << 20;

    private readonly record struct Outcome(Exception? Error, long Allocated, bool Finished);

    /// <summary>Runs <paramref name="count"/> mutants of <paramref name="mutator"/>'s seed, after the seed itself.</summary>
    public FuzzReport Run(GgufMutator mutator, int count)
    {
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        // The seed runs twice: the first run pays for JIT compilation and one-time loading (the generator's
        // references), the second measures what a file of this size allocates.
        var seedBytes = mutator.Seed.ToArray();
        Execute(seedBytes, WarmUpTimeLimit);
        var seed = Execute(seedBytes, TimeLimit);
        if (!seed.Finished || seed.Error is not null)
        {
            var problem = seed.Finished ? $"{seed.Error!.GetType().Name}: {seed.Error.Message}" : $"still running after {TimeLimit.TotalSeconds} s";
            failures.Add($"{target}: the seed {mutator.Name} itself fails: {problem}");
            return new FuzzReport(0, 0, failures, clock.Elapsed);
        }

        long allocationLimit = seed.Allocated + AllocationAllowance;
        int accepted = 0, refused = 0;
        for (int i = 0; i < count; i++)
        {
            var mutant = mutator.Create(i);
            var (problem, wasRefused) = Judge(mutant.Bytes, allocationLimit);
            if (problem is not null)
            {
                failures.Add($"{target}: {mutant}: {problem}{Save(mutant, failures.Count)}");
            }
            else if (wasRefused)
            {
                refused++;
            }
            else
            {
                accepted++;
            }
        }

        return new FuzzReport(accepted, refused, failures, clock.Elapsed);
    }

    /// <summary>The oracle's verdict on one file, allowing <see cref="AllocationAllowance"/>: null if it holds, else what went wrong.</summary>
    public string? Check(byte[] bytes) => Judge(bytes, AllocationAllowance).Problem;

    private (string? Problem, bool Refused) Judge(byte[] bytes, long allocationLimit)
    {
        var outcome = Execute(bytes, TimeLimit);
        if (!outcome.Finished)
        {
            return ($"still running after {TimeLimit.TotalSeconds} s", false);
        }

        if (outcome.Error is { } error && !documented.Contains(error.GetType()))
        {
            var frame = error.StackTrace?.Split('\n').FirstOrDefault()?.Trim();
            return ($"{error.GetType().Name}: {error.Message} {frame}", true);
        }

        return outcome.Allocated > allocationLimit
            ? ($"allocated {outcome.Allocated >> 20} MiB (limit {allocationLimit >> 20} MiB)", false)
            : (null, outcome.Error is not null);
    }

    private Outcome Execute(byte[] bytes, TimeSpan timeLimit)
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                run(bytes);
            }
            catch (Exception e)
            {
                error = e;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }) { IsBackground = true, Name = "fuzz target" };
        thread.Start();
        bool finished = thread.Join(timeLimit);
        return new Outcome(error, allocated, finished);
    }

    private string Save(Mutant mutant, int failuresBefore)
    {
        if (failuresBefore >= MaxFilesWritten)
        {
            return "";
        }

        Directory.CreateDirectory(FailureDirectory);
        var path = Path.Combine(FailureDirectory, $"{target}-{mutant.Seed}-{mutant.Index}.gguf");
        File.WriteAllBytes(path, mutant.Bytes);
        return $" -> {path}";
    }
}
