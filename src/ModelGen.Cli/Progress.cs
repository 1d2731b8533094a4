namespace ModelGen.Cli;

/// <summary>Progress of long work, drawn on stderr only when stderr is a terminal.</summary>
internal static class Progress
{
    public static IProgress<double>? ToStderr(string label) =>
        Console.IsErrorRedirected ? null : new Bar(label);

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
