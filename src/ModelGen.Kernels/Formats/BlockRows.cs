using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace ModelGen.Kernels.Formats;

/// <summary>Checks that a row of elements and its storage agree, once per call, so inner loops need no bounds checks.</summary>
internal static class BlockRows
{
    /// <summary>The number of blocks in a row of <paramref name="elements"/> elements stored in <paramref name="bytes"/> bytes.</summary>
    /// <remarks>
    /// Small enough to inline into every dot (the messages are built out of line): it runs once per row of a
    /// matrix-vector product, where a call showed as 1-5 % of a decode profile.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count<TFormat>(int elements, int bytes, string parameter)
        where TFormat : IBlockFormat
    {
        int blocks = elements / TFormat.BlockSize;
        if (elements < 0 || blocks * TFormat.BlockSize != elements || (long)blocks * TFormat.BlockBytes != bytes)
        {
            ThrowMismatch<TFormat>(elements, bytes, parameter);
        }

        return blocks;
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowMismatch<TFormat>(int elements, int bytes, string parameter)
        where TFormat : IBlockFormat
    {
        if (elements < 0 || elements % TFormat.BlockSize != 0)
        {
            throw new ArgumentException($"{elements} elements is not a whole number of {TFormat.Type} blocks of {TFormat.BlockSize}", parameter);
        }

        throw new ArgumentException($"{bytes} bytes is not {elements / TFormat.BlockSize} {TFormat.Type} blocks of {TFormat.BlockBytes} bytes", parameter);
    }
}
