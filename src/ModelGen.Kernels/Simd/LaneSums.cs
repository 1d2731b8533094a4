using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// Horizontal sums in one fixed order, the pairwise tree: adjacent lanes, then adjacent pairs, then quads, and so on.
/// <see cref="Of(Vector512{float})"/> sums one vector; <see cref="Of(ReadOnlySpan{Vector512{float}})"/> sums a vector's worth
/// of vectors at once (lane r of the result is the sum of vector r's lanes), each level folding two vectors into one
/// that holds both vectors' sums over twice as many lanes, for a few instructions per vector rather than a dozen.
/// </summary>
/// <remarks>
/// The order is written out rather than left to <c>Vector512.Sum</c>, which adds in the same tree on x64 today but
/// whose order is the JIT's to choose: kernels that sum rows one at a time and kernels that sum them sixteen at a
/// time must agree bit for bit, whichever runtime compiled them. The shuffle indices are literals: Shuffle is a
/// single instruction only for constant indices.
/// </remarks>
internal static class LaneSums
{
    /// <summary>The lanes of <paramref name="v"/> summed: the two 256-bit halves' sums, added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(Vector512<float> v) => Of(v.GetLower()) + Of(v.GetUpper());

    /// <inheritdoc cref="Of(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(Vector256<float> v) => Of(v.GetLower()) + Of(v.GetUpper());

    /// <summary><c>(v0 + v1) + (v2 + v3)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(Vector128<float> v)
    {
        var pairs = v + Vector128.Shuffle(v, Vector128.Create(1, 0, 3, 2));
        return pairs.ToScalar() + pairs.GetElement(2);
    }

    /// <summary>Sixteen vectors' sums.</summary>
    public static Vector512<float> Of(ReadOnlySpan<Vector512<float>> v)
    {
        CheckCount(v.Length, Vector512<float>.Count);
        return Fold(
            Eights(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]),
            Eights(v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]),
            Vector512.Create(-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0),
            Vector512.Create(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    }

    /// <summary>
    /// The sums of sixteen 256-bit rows held two to a vector: lane r is the sum of half <c>r % 2</c> of pair
    /// <c>r / 2</c>, as <see cref="Of(Vector256{float})"/> adds it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OfHalves(
        Vector512<float> pair0, Vector512<float> pair1, Vector512<float> pair2, Vector512<float> pair3,
        Vector512<float> pair4, Vector512<float> pair5, Vector512<float> pair6, Vector512<float> pair7) =>
        Vector512.Shuffle(
            Eights(pair0, pair1, pair2, pair3, pair4, pair5, pair6, pair7),
            Vector512.Create(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));

    /// <summary>
    /// The first three levels over eight vectors: lane <c>8h + k</c> of the result is the sum of lanes <c>8h</c> to
    /// <c>8h + 7</c> of vector k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Eights(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7) =>
        Eights(Quads(Pairs(v0, v1), Pairs(v2, v3)), Quads(Pairs(v4, v5), Pairs(v6, v7)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pairs(Vector512<float> first, Vector512<float> second) => Fold(first, second,
        Vector512.Create(-1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0),
        Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quads(Vector512<float> first, Vector512<float> second) => Fold(first, second,
        Vector512.Create(-1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0),
        Vector512.Create(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Eights(Vector512<float> first, Vector512<float> second) => Fold(first, second,
        Vector512.Create(-1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0),
        Vector512.Create(4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));

    /// <summary>Eight vectors' sums; <paramref name="v"/> is used as scratch.</summary>
    public static Vector256<float> Of(Span<Vector256<float>> v)
    {
        CheckCount(v.Length, Vector256<float>.Count);
        for (int k = 0; k < 4; k++)
        {
            v[k] = Fold(v[2 * k], v[2 * k + 1], Vector256.Create(-1, 0, -1, 0, -1, 0, -1, 0), Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6));
        }

        for (int k = 0; k < 2; k++)
        {
            v[k] = Fold(v[2 * k], v[2 * k + 1], Vector256.Create(-1, -1, 0, 0, -1, -1, 0, 0), Vector256.Create(2, 3, 0, 1, 6, 7, 4, 5));
        }

        return Fold(v[0], v[1], Vector256.Create(-1, -1, -1, -1, 0, 0, 0, 0), Vector256.Create(4, 5, 6, 7, 0, 1, 2, 3));
    }

    /// <summary>Four vectors' sums; <paramref name="v"/> is used as scratch.</summary>
    public static Vector128<float> Of(Span<Vector128<float>> v)
    {
        CheckCount(v.Length, Vector128<float>.Count);
        var low = Fold(v[0], v[1], Vector128.Create(-1, 0, -1, 0), Vector128.Create(1, 0, 3, 2));
        var high = Fold(v[2], v[3], Vector128.Create(-1, 0, -1, 0), Vector128.Create(1, 0, 3, 2));
        return Fold(low, high, Vector128.Create(-1, -1, 0, 0), Vector128.Create(2, 3, 0, 1));
    }

    /// <summary>
    /// Lanes where <paramref name="fromFirst"/> is set hold <paramref name="first"/>'s lane plus its partner (the lane
    /// <paramref name="partner"/> names), the others <paramref name="second"/>'s lane plus its partner.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fold(Vector512<float> first, Vector512<float> second, Vector512<int> fromFirst, Vector512<int> partner) =>
        Vector512.ConditionalSelect(fromFirst.AsSingle(), first, second)
        + Vector512.Shuffle(Vector512.ConditionalSelect(fromFirst.AsSingle(), second, first), partner);

    /// <inheritdoc cref="Fold(Vector512{float}, Vector512{float}, Vector512{int}, Vector512{int})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold(Vector256<float> first, Vector256<float> second, Vector256<int> fromFirst, Vector256<int> partner) =>
        Vector256.ConditionalSelect(fromFirst.AsSingle(), first, second)
        + Vector256.Shuffle(Vector256.ConditionalSelect(fromFirst.AsSingle(), second, first), partner);

    /// <inheritdoc cref="Fold(Vector512{float}, Vector512{float}, Vector512{int}, Vector512{int})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fold(Vector128<float> first, Vector128<float> second, Vector128<int> fromFirst, Vector128<int> partner) =>
        Vector128.ConditionalSelect(fromFirst.AsSingle(), first, second)
        + Vector128.Shuffle(Vector128.ConditionalSelect(fromFirst.AsSingle(), second, first), partner);

    private static void CheckCount(int vectors, int lanes)
    {
        if (vectors != lanes)
        {
            throw new ArgumentException($"{vectors} vectors for {lanes} lanes");
        }
    }
}
