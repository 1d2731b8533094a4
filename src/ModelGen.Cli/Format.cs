using System.Globalization;

namespace ModelGen.Cli;

/// <summary>Human-readable numbers for terminal output.</summary>
internal static class Format
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>1536 → "1.5 KiB".</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.00" : value < 100 ? "0.0" : "0", Invariant) + " " + units[unit];
    }

    /// <summary>1_100_048_384 → "1.10 B"; 135_000 → "135.0 K".</summary>
    public static string Count(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("0.00", Invariant) + " B",
        >= 1_000_000 => (n / 1e6).ToString("0.00", Invariant) + " M",
        >= 1_000 => (n / 1e3).ToString("0.0", Invariant) + " K",
        _ => n.ToString(Invariant),
    };

    public static string Int(long n) => n.ToString("N0", Invariant);

    /// <summary>Shortens <paramref name="text"/> to <paramref name="width"/> columns with an ellipsis.</summary>
    public static string Clip(string text, int width) =>
        width <= 1 || text.Length <= width ? text : text[..(width - 1)] + "…";
}
