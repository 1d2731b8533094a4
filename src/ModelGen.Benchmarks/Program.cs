using BenchmarkDotNet.Running;
using ModelGen.Benchmarks;

if (args is ["sweep", ..])
{
    MatrixSweep.Run(args.Length > 1 ? int.Parse(args[1]) : 5);
}
else
{
    // Not typeof(Program): modelgen's internal Program is visible here too (InternalsVisibleTo), and the name is ambiguous.
    BenchmarkSwitcher.FromAssembly(typeof(ModelBenchmarks).Assembly).Run(args);
}
