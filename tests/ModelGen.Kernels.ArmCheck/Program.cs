using ModelGen.Kernels;
using ModelGen.Kernels.ArmCheck;

// Every kernel on this CPU's best SIMD path against its scalar reference, one line per check (see Report). Exit code 0
// when all pass. Arguments are not taken: what runs is fixed, so that two machines' lines can be compared.
var report = new Report(Console.Out, SimdPaths.Best);
PrimitiveChecks.Run(report);
ConversionChecks.Run(report);
FormatChecks.Run(report);
return report.Failures == 0 ? 0 : 1;
