namespace ModelGen.Kernels.Formats;

/// <summary>Checks that a row of elements and its storage agree, once per call, so inner loops need no bounds checks.</summary>
internal static class BlockRows
{
    /// <summary>The number of blocks in a row of <paramref name="elements"/> elements stored in <paramref name="bytes"/> bytes.</summary>
    public static int Count<TFormat>(int elements, int bytes, string parameter)
        where TFormat : IBlockFormat
    {
        if (elements < 0 || elements % TFormat.BlockSize != 0)
        {
            throw new ArgumentException($"{elements} elements is not a whole number of {TFormat.Type} blocks of {TFormat.BlockSize}", parameter);
        }

        int blocks = elements / TFormat.BlockSize;
        if ((long)blocks * TFormat.BlockBytes != bytes)
        {
            throw new ArgumentException($"{bytes} bytes is not {blocks} {TFormat.Type} blocks of {TFormat.BlockBytes} bytes", parameter);
        }

        return blocks;
    }
}
