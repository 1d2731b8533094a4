using System.Runtime.CompilerServices;

namespace ModelGen.Kernels;

/// <summary>
/// The operands of a tile of dot products: <see cref="Rows"/> weight rows, <see cref="WeightStride"/> bytes apart,
/// against <see cref="ActivationRows"/> activation rows, <see cref="ActivationStride"/> bytes apart, each of
/// <see cref="Count"/> elements in whole blocks. The dot of weight row r and activation row t goes to
/// <c>Output[t * OutputStride + r]</c>, so a matrix-vector product's outputs are consecutive and a matrix product's
/// are rows of <c>Y = X Wᵀ</c>.
/// </summary>
/// <param name="weights">From the first weight row's first block to the last row's last block.</param>
/// <param name="weightStride">Bytes from one weight row to the next.</param>
/// <param name="rows">Weight rows.</param>
/// <param name="activations">From the first activation row to the end of the last.</param>
/// <param name="activationStride">Bytes from one activation row to the next.</param>
/// <param name="activationRows">Activation rows.</param>
/// <param name="count">Elements per row.</param>
/// <param name="output">Reaches <c>[(activationRows - 1) * outputStride + rows - 1]</c>.</param>
/// <param name="outputStride">Floats from one activation row's outputs to the next's.</param>
public readonly ref struct WeightTile(
    ReadOnlySpan<byte> weights,
    int weightStride,
    int rows,
    ReadOnlySpan<byte> activations,
    int activationStride,
    int activationRows,
    int count,
    Span<float> output,
    int outputStride)
{
    public ReadOnlySpan<byte> Weights { get; } = weights;

    public int WeightStride { get; } = weightStride;

    public int Rows { get; } = rows;

    public ReadOnlySpan<byte> Activations { get; } = activations;

    public int ActivationStride { get; } = activationStride;

    public int ActivationRows { get; } = activationRows;

    public int Count { get; } = count;

    public Span<float> Output { get; } = output;

    public int OutputStride { get; } = outputStride;

    /// <summary>
    /// Checks that every row of <paramref name="weightRowBytes"/> and <paramref name="activationRowBytes"/> bytes and
    /// every output lies within the spans, once per tile, so that kernels can index without further checks.
    /// </summary>
    internal void Check(int weightRowBytes, int activationRowBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Rows, nameof(Rows));
        ArgumentOutOfRangeException.ThrowIfNegative(ActivationRows, nameof(ActivationRows));
        ArgumentOutOfRangeException.ThrowIfNegative(WeightStride, nameof(WeightStride));
        ArgumentOutOfRangeException.ThrowIfNegative(ActivationStride, nameof(ActivationStride));
        ArgumentOutOfRangeException.ThrowIfNegative(OutputStride, nameof(OutputStride));
        if (Rows == 0 || ActivationRows == 0)
        {
            return;
        }

        CheckExtent(Weights.Length, Rows, WeightStride, weightRowBytes, nameof(Weights));
        CheckExtent(Activations.Length, ActivationRows, ActivationStride, activationRowBytes, nameof(Activations));
        CheckExtent(Output.Length, ActivationRows, OutputStride, Rows, nameof(Output));
    }

    private static void CheckExtent(int length, int count, int stride, int last, string name)
    {
        if ((long)(count - 1) * stride + last > length)
        {
            throw new ArgumentException($"{count} rows of {last} {stride} apart do not fit in {length}", name);
        }
    }
}

/// <summary>Tiles of dot products (<see cref="WeightTile"/>), by a format's tiled kernel where it has one.</summary>
public static class WeightTiles
{
    /// <summary>
    /// Every dot product of <paramref name="tile"/>: each output equals <see cref="IWeightFormat{TActivation}.Dot"/>
    /// of its weight row and activation row on <paramref name="path"/>, bit for bit, whether the format's
    /// <see cref="IWeightFormat{TActivation}.TryDotTile"/> computes it or, where that declines, <c>Dot</c> pair by pair.
    /// </summary>
    public static void Dot<TWeight, TActivation>(SimdPath path, in WeightTile tile)
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        int count = tile.Count;
        if (count < 0 || count % TWeight.BlockSize != 0 || count % TActivation.BlockSize != 0)
        {
            throw new ArgumentException($"{count} elements are not whole blocks of {TWeight.Type} and {TActivation.Type}", nameof(tile));
        }

        tile.Check(count / TWeight.BlockSize * TWeight.BlockBytes, count / TActivation.BlockSize * TActivation.BlockBytes);
        if (!TWeight.TryDotTile(path, tile))
        {
            DotPairs<TWeight, TActivation>(path, tile);
        }
    }

    /// <summary>One <see cref="IWeightFormat{TActivation}.Dot"/> per pair, weight row by weight row.</summary>
    /// <remarks>Kept out of line, as the row loops of <see cref="MatrixKernels"/> are, for the JIT's inlining budget.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DotPairs<TWeight, TActivation>(SimdPath path, in WeightTile tile)
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        int weightRowBytes = tile.Count / TWeight.BlockSize * TWeight.BlockBytes;
        int activationRowBytes = tile.Count / TActivation.BlockSize * TActivation.BlockBytes;
        for (int r = 0; r < tile.Rows; r++)
        {
            var weights = tile.Weights.Slice(r * tile.WeightStride, weightRowBytes);
            for (int t = 0; t < tile.ActivationRows; t++)
            {
                var activations = tile.Activations.Slice(t * tile.ActivationStride, activationRowBytes);
                tile.Output[t * tile.OutputStride + r] = TWeight.Dot(path, weights, activations, tile.Count);
            }
        }
    }
}
