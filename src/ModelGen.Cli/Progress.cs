namespace ModelGen.Cli;

/// <summary>Progress of long work, drawn on stderr only when stderr is a terminal.</summary>
internal static class Progress
{
    public static IProgress<double>? ToStderr(string label) =>
        Console.IsErrorRedirected ? null : new Bar(label);

    /// <summary>
    /// Progress of a prompt's prefill, shown once it is longer than <paramref name="threshold"/> tokens: one updating
    /// line on a terminal, a plain line per quarter otherwise (a log gets a few lines, not one per batch).
    /// </summary>
    public static IProgress<(int Done, int Total)> PrefillToStderr(int threshold) => new Prefill(threshold, Console.IsErrorRedirected);

    /// <summary>Steps of long work that shows no percentage (a build), each on its own stderr line with the time so far.</summary>
    public static Action<string> StepsToStderr(string label)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        return step => Console.Error.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"modelgen: {label}: {step} ({started.Elapsed.TotalSeconds:0.0} s)"));
    }

    private sealed class Prefill(int threshold, bool plain) : IProgress<(int Done, int Total)>
    {
        private int _quarter;

        public void Report((int Done, int Total) value)
        {
            if (value.Total <= threshold)
            {
                return;
            }

            var line = $"modelgen: prompt {value.Done}/{value.Total} tokens";
            if (!plain)
            {
                Console.Error.Write(value.Done < value.Total ? "\r" + line : "\r" + new string(' ', line.Length) + "\r");
                return;
            }

            int quarter = (int)(4L * value.Done / value.Total);
            if (quarter > _quarter)
            {
                _quarter = quarter;
                Console.Error.WriteLine(line);
            }
        }
    }

    private sealed class Bar(string label) : IProgress<double>
    {
        private int _shown = -1;

        public void Report(double value)
        {
            int percent = (int)(Math.Clamp(value, 0, 1) * 100);
            if (percent == _shown)
            {
                return;
            }

            _shown = percent;
            int filled = percent * 30 / 100;
            Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('.', 30 - filled)}] {percent,3}%");
            if (percent == 100)
            {
                Console.Error.Write("\r" + new string(' ', label.Length + 40) + "\r");
            }
        }
    }
}
