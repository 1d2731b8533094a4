namespace ModelGen.Runtime.Engine;

/// <summary>
/// The most memory a model may allocate besides its mapped weights (KV cache and activation buffers), checked at load
/// so that a file asking for more is refused in one line instead of exhausting the machine.
/// </summary>
public static class MemoryBudget
{
    /// <summary>Half the memory this process may use (physical memory, or the container's limit).</summary>
    public static long Default => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>
    /// Throws <see cref="UnsupportedModelException"/> when <paramref name="config"/> at <paramref name="contextLength"/>
    /// positions for each of <paramref name="sequences"/> sequences and batches of <paramref name="maxBatch"/> would
    /// take more than <paramref name="budget"/> bytes (0 for <see cref="Default"/>), or buffers larger than an array can be.
    /// </summary>
    public static void Check(ModelConfig config, int contextLength, int maxBatch, long budget, string source, int sequences = 1)
    {
        config.CheckBuffers(contextLength, maxBatch, source);
        if (budget < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), budget, "the memory budget must not be negative");
        }

        budget = budget == 0 ? Default : budget;
        long needed = config.WorkingSetBytes(contextLength, maxBatch, sequences);
        if (needed > budget)
        {
            string context = sequences == 1 ? $"a context of {contextLength} tokens" : $"{sequences} sequences of {contextLength} tokens";
            throw new UnsupportedModelException(source,
                $"{context} needs {Mebibytes(needed)} for the KV cache and buffers, over the memory budget of " +
                $"{Mebibytes(budget)}; ask for a smaller context, or a larger budget");
        }
    }

    private static string Mebibytes(long bytes) => $"{(bytes + (1 << 20) - 1) >> 20} MiB";
}
