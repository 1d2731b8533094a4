using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ModelGen.Benchmarks;

/// <summary>
/// Tokens per second, the figure <c>modelgen bench</c> and llama-bench report, so that the tables compare directly.
/// A benchmark counts one operation per token (<c>OperationsPerInvoke</c>), and BenchmarkDotNet's statistics are per
/// operation, so the rate is the inverse of the mean.
/// </summary>
internal sealed class TokensPerSecondColumn : IColumn
{
    public string Id => nameof(TokensPerSecondColumn);

    public string ColumnName => "Tokens/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Tokens per second: the inverse of the mean time per token";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        summary[benchmarkCase]?.ResultStatistics is { } statistics
            ? (1e9 / statistics.Mean).ToString("F1", style.CultureInfo)
            : "NA";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
