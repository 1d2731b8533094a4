using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// The horizontal sums of a vector's worth of vectors at once: lane r of the result is the sum of vector r's lanes.
/// Each level folds two vectors into one holding both vectors' sums over twice as many lanes, so a row's lanes are
/// added in the pairwise tree that <c>Vector512.Sum</c> and its narrower kin add them in on x86 and Arm (adjacent
/// lanes, then adjacent pairs, then quads), for a few instructions per vector rather than a dozen.
/// </summary>
/// <remarks>The shuffle indices are literals: Shuffle is a single instruction only for constant indices.</remarks>
internal static class LaneSums
{
    /// <summary>Sixteen vectors' sums; <paramref name="v"/> is used as scratch.</summary>
    public static Vector512<float> Of(Span<Vector512<float>> v)
    {
        CheckCount(v.Length, Vector512<float>.Count);
        for (int k = 0; k < 8; k++)
        {
            v[k] = Fold(v[2 * k], v[2 * k + 1],
                Vector512.Create(-1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0),
                Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
        }

        for (int k = 0; k < 4; k++)
        {
            v[k] = Fold(v[2 * k], v[2 * k + 1],
                Vector512.Create(-1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0),
                Vector512.Create(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
        }

        for (int k = 0; k < 2; k++)
        {
            v[k] = Fold(v[2 * k], v[2 * k + 1],
                Vector512.Create(-1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0),
                Vector512.Create(4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
        }

        return Fold(v[0], v[1],
            Vector512.Create(-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0),
            Vector512.Create(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    }

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
