using ModelGen.Kernels;

namespace ModelGen.Kernels.Tests;

/// <summary>Theory data: every SIMD path this CPU runs (all four on x86 with AVX-512), so no path goes untested.</summary>
public static class SimdPathData
{
    public static TheoryData<SimdPath> Supported => new(SimdPaths.Supported);
}
