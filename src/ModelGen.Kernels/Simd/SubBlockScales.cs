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

/// <summary>
/// The <see cref="SubBlockScales.Indices512"/> of the four 64-weight quarters of a super-block, built once per call.
/// </summary>
internal readonly struct Spreads512(int subBlockSize)
{
    public readonly Vector512<short> First = SubBlockScales.Indices512(0, subBlockSize);

    public readonly Vector512<short> Second = SubBlockScales.Indices512(64 / subBlockSize, subBlockSize);

    public readonly Vector512<short> Third = SubBlockScales.Indices512(128 / subBlockSize, subBlockSize);

    public readonly Vector512<short> Fourth = SubBlockScales.Indices512(192 / subBlockSize, subBlockSize);
}

/// <summary>
/// A 512-bit kernel's running sums: the scaled products, and the offsets (mins) that some formats scale separately.
/// </summary>
internal struct Accumulators512
{
    public Vector512<float> Sums;

    public Vector256<float> Offsets;

    public readonly float Sum() => Vector512.Sum(Sums) + Vector256.Sum(Offsets);
}
