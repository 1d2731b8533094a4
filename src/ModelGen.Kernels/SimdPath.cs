using System.Runtime.Intrinsics;

namespace ModelGen.Kernels;

/// <summary>
/// Which implementation of a kernel runs. Every kernel has a scalar reference and SIMD paths; production code
/// calls <see cref="SimdPaths.Best"/>, tests call every path this CPU supports, so none goes untested.
/// </summary>
public enum SimdPath
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}

/// <summary>What this process can run.</summary>
public static class SimdPaths
{
    /// <summary>The widest accelerated path. A static readonly field: the JIT folds a switch on it away.</summary>
    public static readonly SimdPath Best =
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512 :
        Vector256.IsHardwareAccelerated ? SimdPath.Vector256 :
        Vector128.IsHardwareAccelerated ? SimdPath.Vector128 : SimdPath.Scalar;

    /// <summary>Whether this CPU runs <paramref name="path"/> in hardware.</summary>
    public static bool IsSupported(SimdPath path) => path <= Best;

    /// <summary>Every path this CPU runs, narrowest first.</summary>
    public static IEnumerable<SimdPath> Supported => Enum.GetValues<SimdPath>().Where(IsSupported);
}
