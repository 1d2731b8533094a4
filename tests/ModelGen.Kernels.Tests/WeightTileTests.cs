using ModelGen.Kernels.Formats;
using ModelGen.TestSupport;

namespace ModelGen.Kernels.Tests;

/// <summary>
/// Tiles of dot products against <see cref="IWeightFormat{TActivation}.Dot"/> pair by pair, bit for bit: every
/// shape up to beyond two register tiles each way, so that whole tiles and every partial one run, with strided,
/// padded rows and outputs.
/// </summary>
public abstract class WeightTileTests<TWeight, TActivation>
    where TWeight : IWeightFormat<TActivation>
    where TActivation : IActivationFormat
{
    /// <summary>Beyond two 4 x 2 register tiles in each direction, with a remainder.</summary>
    private const int MaxRows = 9;

    /// <summary>
    /// Weight rows of the longer tiles a matrix-vector product hands out: one and two 16-row batches with and without
    /// rows left over, against one and two activation rows.
    /// </summary>
    private static readonly int[] BatchRows = [16, 17, 32, 35];

    private const int MaxBatchRows = 35;

    private const int MaxActivationRows = 5;

    /// <summary>
    /// Below, at and around the eight-block groups whose scales the vector paths convert together; 33 adds a tail to
    /// whole groups (blocks of the larger of the two formats). For the K-quants, whose dots take super-blocks in pairs,
    /// odd counts leave one over.
    /// </summary>
    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 17, 33];

    private static readonly int[] Seeds = [1, 2, 3, 4, 5, 6, 7, 8];

    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Every_tile_output_equals_Dot_of_its_pair(SimdPath path)
    {
        foreach (int blocks in BlockCounts)
        {
            foreach (int seed in Seeds)
            {
                int count = blocks * Math.Max(TWeight.BlockSize, TActivation.BlockSize);
                var (weights, weightStride) = Rows<TWeight>(count, MaxBatchRows, padding: seed % 3 * 5, seed, (w, values) => TWeight.QuantizeReference(values, w));
                var (activations, activationStride) = Rows<TActivation>(
                    count, MaxActivationRows, padding: seed % 2 * 7, seed + 50, (a, values) => TActivation.Quantize(path, values, a));
                int weightRowBytes = count / TWeight.BlockSize * TWeight.BlockBytes;
                int activationRowBytes = count / TActivation.BlockSize * TActivation.BlockBytes;

                var expected = new float[MaxActivationRows, MaxBatchRows];
                for (int r = 0; r < MaxBatchRows; r++)
                {
                    for (int t = 0; t < MaxActivationRows; t++)
                    {
                        expected[t, r] = TWeight.Dot(
                            path, weights.AsSpan(r * weightStride, weightRowBytes), activations.AsSpan(t * activationStride, activationRowBytes), count);
                    }
                }

                for (int rows = 1; rows <= MaxRows; rows++)
                {
                    for (int activationRows = 1; activationRows <= MaxActivationRows; activationRows++)
                    {
                        CheckTile(path, weights, weightStride, rows, activations, activationStride, activationRows, count, expected, $"{blocks} blocks, seed {seed}");
                    }
                }

                foreach (int rows in BatchRows)
                {
                    for (int activationRows = 1; activationRows <= 2; activationRows++)
                    {
                        CheckTile(path, weights, weightStride, rows, activations, activationStride, activationRows, count, expected, $"{blocks} blocks, seed {seed}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// Rows long enough (32,768 elements) that a matrix-vector tile's activation row, laid out once for all its weight
    /// rows, no longer fits the stack and goes to a rented array.
    /// </summary>
    [Fact]
    public void Long_rows_of_a_matrix_vector_tile_equal_Dot()
    {
        const int count = 32 * 1024, rows = 17;
        var (weights, weightStride) = Rows<TWeight>(count, rows, padding: 3, seed: 9, (w, values) => TWeight.QuantizeReference(values, w));
        var (activations, activationStride) = Rows<TActivation>(count, 1, padding: 0, seed: 59, (a, values) => TActivation.Quantize(SimdPaths.Best, values, a));
        int weightRowBytes = count / TWeight.BlockSize * TWeight.BlockBytes;
        var expected = new float[1, rows];
        for (int r = 0; r < rows; r++)
        {
            expected[0, r] = TWeight.Dot(SimdPaths.Best, weights.AsSpan(r * weightStride, weightRowBytes), activations, count);
        }

        CheckTile(SimdPaths.Best, weights, weightStride, rows, activations, activationStride, 1, count, expected, "long rows");
    }

    [Fact]
    public void Tiles_reject_operands_too_short_for_their_rows()
    {
        int weightRowBytes = TWeight.BlockBytes * (256 / TWeight.BlockSize);
        int activationRowBytes = TActivation.BlockBytes * (256 / TActivation.BlockSize);
        var weights = new byte[2 * weightRowBytes];
        var activations = new byte[2 * activationRowBytes];
        var output = new float[4];

        WeightTiles.Dot<TWeight, TActivation>(SimdPath.Scalar, new WeightTile(weights, weightRowBytes, 2, activations, activationRowBytes, 2, 256, output, 2));
        Assert.Equal(new float[4], output);
        Assert.Throws<ArgumentException>(() => WeightTiles.Dot<TWeight, TActivation>(
            SimdPaths.Best, new WeightTile(weights.AsSpan(1), weightRowBytes, 2, activations, activationRowBytes, 2, 256, output, 2)));
        Assert.Throws<ArgumentException>(() => WeightTiles.Dot<TWeight, TActivation>(
            SimdPaths.Best, new WeightTile(weights, weightRowBytes, 2, activations.AsSpan(1), activationRowBytes, 2, 256, output, 2)));
        Assert.Throws<ArgumentException>(() => WeightTiles.Dot<TWeight, TActivation>(
            SimdPaths.Best, new WeightTile(weights, weightRowBytes, 2, activations, activationRowBytes, 2, 256, output.AsSpan(1), 2)));
        Assert.Throws<ArgumentException>(() => WeightTiles.Dot<TWeight, TActivation>(
            SimdPaths.Best, new WeightTile(weights, weightRowBytes, 2, activations, activationRowBytes, 2, 255, output, 2)));
    }

    /// <summary>The format's own tiled kernel, without <see cref="WeightTiles"/> to fall back on.</summary>
    protected static bool TryDotTile(SimdPath path, in WeightTile tile) => TWeight.TryDotTile(path, tile);

    private static void CheckTile(
        SimdPath path, byte[] weights, int weightStride, int rows, byte[] activations, int activationStride, int activationRows, int count, float[,] expected, string context)
    {
        // Outputs of one activation row are followed by two floats the tile must leave alone.
        int outputStride = rows + 2;
        var output = new float[activationRows * outputStride];
        output.AsSpan().Fill(float.NaN);
        int weightSpan = (rows - 1) * weightStride + count / TWeight.BlockSize * TWeight.BlockBytes;
        int activationSpan = (activationRows - 1) * activationStride + count / TActivation.BlockSize * TActivation.BlockBytes;
        var tile = new WeightTile(
            weights.AsSpan(0, weightSpan), weightStride, rows, activations.AsSpan(0, activationSpan), activationStride, activationRows, count, output, outputStride);

        WeightTiles.Dot<TWeight, TActivation>(path, tile);

        for (int t = 0; t < activationRows; t++)
        {
            for (int r = 0; r < outputStride; r++)
            {
                uint actual = BitConverter.SingleToUInt32Bits(output[t * outputStride + r]);
                uint wanted = BitConverter.SingleToUInt32Bits(r < rows ? expected[t, r] : float.NaN);
                if (actual != wanted)
                {
                    Assert.Fail($"{path}, {context}, {rows} x {activationRows} tile: output ({r}, {t}) is 0x{actual:X8}, Dot gives 0x{wanted:X8}");
                }
            }
        }
    }

    /// <summary>Rows of random values in <typeparamref name="TFormat"/>, <paramref name="padding"/> bytes apart, at a scale that varies with the seed.</summary>
    private static (byte[] Bytes, int Stride) Rows<TFormat>(int count, int rows, int padding, int seed, Action<Span<byte>, float[]> quantize)
        where TFormat : IBlockFormat
    {
        int rowBytes = count / TFormat.BlockSize * TFormat.BlockBytes;
        int stride = rowBytes + padding;
        var bytes = TestData.Bytes(rows * stride, seed);
        for (int r = 0; r < rows; r++)
        {
            float scale = (seed + r) % 3 == 0 ? 1e-3f : (seed + r) % 3 == 1 ? 1f : 200f;
            quantize(bytes.AsSpan(r * stride, rowBytes), TestData.Floats(count, seed * 100 + r, scale));
        }

        return (bytes, stride);
    }
}

public sealed class Q8_0TileTests : WeightTileTests<Q8_0, Q8_0>;

public sealed class Q4_0TileTests : WeightTileTests<Q4_0, Q8_0>;

public sealed class Q4_1TileTests : WeightTileTests<Q4_1, Q8_1>;

public sealed class Q5_0TileTests : WeightTileTests<Q5_0, Q8_0>;

public sealed class Q5_1TileTests : WeightTileTests<Q5_1, Q8_1>;

public sealed class IQ4_NLTileTests : WeightTileTests<IQ4_NL, Q8_0>;

/// <summary>
/// The K-quants' tiles (<c>KQuant512</c>): taken on the 512-bit path from two activation rows on, declined otherwise.
/// </summary>
public abstract class KQuantTileTests<TWeight> : WeightTileTests<TWeight, Q8_K>
    where TWeight : IWeightFormat<Q8_K>
{
    [Theory]
    [MemberData(nameof(SimdPathData.Supported), MemberType = typeof(SimdPathData))]
    public void Tiles_are_taken_on_the_512_bit_path_with_two_activation_rows_or_more(SimdPath path)
    {
        int weightRowBytes = TWeight.BlockBytes;
        var weights = new byte[weightRowBytes];
        var activations = new byte[2 * Q8_K.BlockBytes];
        var output = new float[2];

        Assert.Equal(path == SimdPath.Vector512, TryDotTile(path, new WeightTile(weights, weightRowBytes, 1, activations, Q8_K.BlockBytes, 2, 256, output, 1)));
        Assert.False(TryDotTile(path, new WeightTile(weights, weightRowBytes, 1, activations, Q8_K.BlockBytes, 1, 256, output, 1)));
    }
}

public sealed class Q2_KTileTests : KQuantTileTests<Q2_K>;

public sealed class Q3_KTileTests : KQuantTileTests<Q3_K>;

public sealed class Q4_KTileTests : KQuantTileTests<Q4_K>;

public sealed class Q5_KTileTests : KQuantTileTests<Q5_K>;

public sealed class Q6_KTileTests : KQuantTileTests<Q6_K>;

/// <summary>A format without a tiled kernel: the default declines and the tile is <c>Dot</c> pair by pair.</summary>
public sealed class IQ4_XSTileTests : WeightTileTests<IQ4_XS, Q8_K>
{
    [Fact]
    public void Default_TryDotTile_declines() =>
        Assert.False(TryDotTile(SimdPaths.Best, new WeightTile([], 0, 0, [], 0, 0, 0, [], 0)));
}
