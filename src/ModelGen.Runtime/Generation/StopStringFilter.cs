using System.Text;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// Holds back streamed text that might be the start of a stop string, and cuts the stream where one completes.
/// </summary>
internal sealed class StopStringFilter(IReadOnlyList<string> stops)
{
    private readonly StringBuilder _pending = new();

    /// <summary>Adds <paramref name="text"/>; returns what can be emitted and whether a stop string completed.</summary>
    public (string Text, bool Stopped) Push(string text, bool final = false)
    {
        if (stops.Count == 0)
        {
            return (text, false);
        }

        _pending.Append(text);
        var pending = _pending.ToString();
        foreach (var stop in stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                _pending.Clear();
                return (pending[..at], true);
            }
        }

        // Keep the longest tail that is a prefix of some stop string; emit the rest.
        int keep = final ? 0 : stops.Max(stop => SharedTail(pending, stop));
        _pending.Clear().Append(pending, pending.Length - keep, keep);
        return (pending[..^keep], false);
    }

    private static int SharedTail(string text, string stop)
    {
        for (int n = Math.Min(text.Length, stop.Length - 1); n > 0; n--)
        {
            if (string.CompareOrdinal(text, text.Length - n, stop, 0, n) == 0)
            {
                return n;
            }
        }

        return 0;
    }
}
