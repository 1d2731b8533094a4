using BenchmarkDotNet.Running;
using ModelGen.Benchmarks;

if (args is ["sweep", ..])
{
    MatrixSweep.Run(args.Length > 1 ? int.Parse(args[1]) : 5);
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
