using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Scale <paramref name="index"/> (0 to 7) of <paramref name="scales"/> in every int16 lane. A <c>pshufb</c> within
    /// each 128-bit lane, so <paramref name="scales"/> must hold the same eight scales in both.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Broadcast(Vector256<short> scales, int index)
    {
        var control = Vector256.Create((ushort)(2 * index | (2 * index + 1) << 8)).AsByte();
        return Avx2.IsSupported ? Avx2.Shuffle(scales.AsByte(), control).AsInt16() : Vector256.Shuffle(scales, Vector256.Create((short)index));
    }

    /// <summary>Scale <paramref name="index"/> (0 to 7) of <paramref name="scales"/> in every int16 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> Broadcast(Vector128<short> scales, int index)
    {
        var control = Vector128.Create((ushort)(2 * index | (2 * index + 1) << 8)).AsByte();
        return Ssse3.IsSupported || AdvSimd.Arm64.IsSupported
            ? PackedQuants.Shuffle(scales.AsByte(), control).AsInt16()
            : Vector128.Shuffle(scales, Vector128.Create((short)index));
    }
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

    /// <summary>
    /// The result of a dot product whose even super-blocks went into <paramref name="first"/> and odd ones into
    /// <paramref name="second"/>: the one place that orders the final additions, for the dots and the tiles alike.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Total(in Accumulators512 first, in Accumulators512 second) => first.Sum() + second.Sum();
}
