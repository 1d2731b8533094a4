using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Simd;

/// <summary>
/// <c>vpermw</c> with indices computed at run time. <see cref="Vector512.Shuffle(Vector512{short}, Vector512{short})"/>
/// emits it alone only for constant indices; otherwise it adds a range check the kernels do not need.
/// </summary>
internal static class WordShuffle
{
    /// <summary>Lane <c>i</c>: <c>words[indices[i]]</c>, for indices in [0, 31].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Permute(Vector512<short> words, Vector512<short> indices) =>
        Avx512BW.IsSupported ? Avx512BW.PermuteVar32x16(words, indices) : Vector512.Shuffle(words, indices);
}
