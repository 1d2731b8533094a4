using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ModelGen.Benchmarks;

/// <summary>
/// Weight bytes an invocation reads, divided by its mean time: the figure a memory-bound kernel is judged by.
/// With <c>dramBytesPerSecond</c>, the column shows that rate as a share of the machine's DRAM read bandwidth.
/// </summary>
internal sealed class WeightBandwidthColumn(
    string name, Func<BenchmarkCase, long> weightBytes, Func<BenchmarkCase, double>? dramBytesPerSecond = null) : IColumn
{
    public string Id => nameof(WeightBandwidthColumn) + "." + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => dramBytesPerSecond is null
        ? "Weight bytes read per second, in GB/s (10^9 bytes)"
        : "Weight bytes read per second as a share of the DRAM read bandwidth of the threads used";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } statistics)
        {
            return "NA";
        }

        double bytesPerSecond = weightBytes(benchmarkCase) / (statistics.Mean * 1e-9);
        return dramBytesPerSecond is null
            ? (bytesPerSecond / 1e9).ToString("F1", style.CultureInfo)
            : (bytesPerSecond / dramBytesPerSecond(benchmarkCase)).ToString("P0", style.CultureInfo);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
