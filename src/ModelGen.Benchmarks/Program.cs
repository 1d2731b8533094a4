using BenchmarkDotNet.Running;
using ModelGen.Benchmarks;

// Not typeof(Program): modelgen's internal Program is visible here too (InternalsVisibleTo), and the name is ambiguous.
BenchmarkSwitcher.FromAssembly(typeof(ModelBenchmarks).Assembly).Run(args);
