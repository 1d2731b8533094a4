using System.Runtime.Intrinsics;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// Where the K-quant kernels spread a super-block's 16-bit sub-block scales over the int16 lanes that
/// <c>pmaddwd</c> multiplies by them (see <see cref="ScaledByteDot"/>).
/// </summary>
internal static class SubBlockScales
{
    /// <summary>
    /// <c>vpermw</c> indices for a 512-bit vector of 64 consecutive weights that starts at sub-block
    /// <paramref name="first"/>: int16 lane <c>i</c> holds a pair of products of weights <c>2i</c> and <c>2i+1</c>,
    /// so takes scale <c>first + 2i / subBlockSize</c>. Computed once per call, outside the kernels' loops.
    /// </summary>
    public static Vector512<short> Indices512(int first, int subBlockSize) =>
        Vector512.Create((short)first) + Vector512.ShiftRightLogical(Vector512<short>.Indices, int.Log2(subBlockSize / 2));
}
