using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// Float lanes summed by halving: the upper half of the lanes added to the lower, again and again, down to one lane.
/// </summary>
/// <remarks>
/// The order is written out rather than left to <see cref="Vector512.Sum{T}(Vector512{T})"/>, whose order is the
/// JIT's to choose, so that <see cref="Of16"/> can sum sixteen vectors at once, transposed, and still give
/// <see cref="Of(Vector512{float})"/> of each bit for bit. Summed one vector at a time, 16 lanes cost four shuffles
/// and four additions; sixteen vectors transposed cost fifteen additions and thirty shuffles, under three instructions
/// a vector.
/// </remarks>
internal static class HalvingSums
{
    /// <summary>Control of a four-element shuffle (of lanes, or of floats within lanes) taking elements 0, 1 of each operand.</summary>
    private const byte LowHalves = 0b01_00_01_00;

    /// <summary>Elements 2, 3 of each operand.</summary>
    private const byte HighHalves = 0b11_10_11_10;

    /// <summary>Elements 0, 2 of each operand.</summary>
    private const byte EvenLanes = 0b10_00_10_00;

    /// <summary>Elements 1, 3 of each operand.</summary>
    private const byte OddLanes = 0b11_01_11_01;

    /// <summary>Lanes 8 to 15 added to lanes 0 to 7, then <see cref="Of(Vector256{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(Vector512<float> values) => Of(values.GetLower() + values.GetUpper());

    /// <summary><c>((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Of(Vector256<float> values)
    {
        var quarters = values.GetLower() + values.GetUpper();
        var eighths = quarters + Vector128.Shuffle(quarters, Vector128.Create(2, 3, 2, 3));
        return eighths.ToScalar() + eighths.GetElement(1);
    }

    /// <summary>Lane r: <see cref="Of(Vector512{float})"/> of the 16 floats from <paramref name="rows"/> + 16 r, for r from 0 to 15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of16(ref float rows) => OfHalves16(
        HalvePair(ref rows, 0), HalvePair(ref rows, 1), HalvePair(ref rows, 2), HalvePair(ref rows, 3),
        HalvePair(ref rows, 4), HalvePair(ref rows, 5), HalvePair(ref rows, 6), HalvePair(ref rows, 7));

    /// <summary>
    /// Lane r: <see cref="Of(Vector256{float})"/> of half <c>r % 2</c> of pair <c>r / 2</c>: sixteen 256-bit rows, two
    /// to a vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OfHalves16(
        Vector512<float> pair0, Vector512<float> pair1, Vector512<float> pair2, Vector512<float> pair3,
        Vector512<float> pair4, Vector512<float> pair5, Vector512<float> pair6, Vector512<float> pair7)
    {
        if (!Avx512F.IsSupported)
        {
            return Vector512.Create(
                Of(pair0.GetLower()), Of(pair0.GetUpper()), Of(pair1.GetLower()), Of(pair1.GetUpper()),
                Of(pair2.GetLower()), Of(pair2.GetUpper()), Of(pair3.GetLower()), Of(pair3.GetUpper()),
                Of(pair4.GetLower()), Of(pair4.GetUpper()), Of(pair5.GetLower()), Of(pair5.GetUpper()),
                Of(pair6.GetLower()), Of(pair6.GetUpper()), Of(pair7.GetLower()), Of(pair7.GetUpper()));
        }

        // Each step adds the two halves of every row and packs twice the rows into a vector. 128-bit lane L of a
        // quarters vector holds row L of its four; of an eighths vector, rows L and L + 4 of its eight.
        var quarters0 = Halve4x128(pair0, pair1);
        var quarters1 = Halve4x128(pair2, pair3);
        var quarters2 = Halve4x128(pair4, pair5);
        var quarters3 = Halve4x128(pair6, pair7);
        var eighths0 = Avx512F.Shuffle(quarters0, quarters1, LowHalves) + Avx512F.Shuffle(quarters0, quarters1, HighHalves);
        var eighths1 = Avx512F.Shuffle(quarters2, quarters3, LowHalves) + Avx512F.Shuffle(quarters2, quarters3, HighHalves);
        var sums = Avx512F.Shuffle(eighths0, eighths1, EvenLanes) + Avx512F.Shuffle(eighths0, eighths1, OddLanes);

        // Lane 4L + i now holds row L + 4i.
        return Avx512F.PermuteVar16x32(sums, Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    }

    /// <summary>Rows 2k and 2k + 1 of <see cref="Of16"/> (k = <paramref name="pair"/>), each with its two 256-bit halves added, in one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HalvePair(ref float rows, int pair)
    {
        var first = Vector512.LoadUnsafe(ref rows, (nuint)(32 * pair));
        var second = Vector512.LoadUnsafe(ref rows, (nuint)(32 * pair + 16));
        return Avx512F.IsSupported
            ? Avx512F.Shuffle4x128(first, second, LowHalves) + Avx512F.Shuffle4x128(first, second, HighHalves)
            : Vector512.Create(first.GetLower() + first.GetUpper(), second.GetLower() + second.GetUpper());
    }

    /// <summary>
    /// Two vectors of two 256-bit rows each: each row's two 128-bit halves added, the four rows' sums in 128-bit lanes 0 to 3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halve4x128(Vector512<float> first, Vector512<float> second) =>
        Avx512F.Shuffle4x128(first, second, EvenLanes) + Avx512F.Shuffle4x128(first, second, OddLanes);
}
