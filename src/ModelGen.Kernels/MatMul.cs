using System.Runtime.CompilerServices;
using ModelGen.Kernels.Threading;

namespace ModelGen.Kernels;

public static unsafe partial class MatrixKernels
{
    /// <summary>Activation rows dotted with each weight row while it is in L1.</summary>
    private const int ActivationRowsPerTile = 4;

    /// <summary>Weight bytes a tile spans: small enough to stay in L2 while every activation tile passes over it.</summary>
    private const int WeightBytesPerTile = 256 * 1024;

    /// <summary>Least activation elements a thread converts: one row of a small model takes about a microsecond.</summary>
    private const int MinimumActivationsPerRange = 16 * 1024;

    /// <summary>
    /// <c>Y = X Wᵀ</c> for several activation rows at once (prompt processing): row t of <paramref name="y"/> is
    /// <see cref="MatVec{TWeight, TActivation}"/> of row t of <paramref name="x"/>, bit for bit.
    /// </summary>
    /// <remarks>
    /// All activation rows are converted once, then each thread takes ranges of weight rows and walks them in tiles
    /// of <see cref="WeightBytesPerTile"/>: a tile is read from memory once and dotted from L2 with every activation
    /// row, <see cref="ActivationRowsPerTile"/> rows at a time so that each weight row is reused from L1.
    /// </remarks>
    /// <param name="weights">The matrix, in format <typeparamref name="TWeight"/>.</param>
    /// <param name="x">Activation rows of <see cref="WeightMatrix.Columns"/> elements, one after another.</param>
    /// <param name="y">Output rows of <see cref="WeightMatrix.Rows"/> elements, one per activation row.</param>
    /// <param name="scratch">At least <see cref="ActivationBytes{TActivation}"/>(columns, activation rows) bytes.</param>
    /// <param name="pool">Threads to split the work over; null runs on the calling thread.</param>
    public static void MatMul<TWeight, TActivation>(
        in WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, Span<byte> scratch, KernelThreadPool? pool = null)
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        CheckType<TWeight>(weights);
        if (x.Length % weights.Columns != 0)
        {
            throw new ArgumentException($"{x.Length} elements are not rows of {weights.Columns}", nameof(x));
        }

        int count = x.Length / weights.Columns;
        CheckLength(y.Length, (long)count * weights.Rows, nameof(y));
        int activationRowBytes = ActivationBytes<TActivation>(weights.Columns);
        CheckScratch(scratch, ActivationBytes<TActivation>(weights.Columns, count));

        fixed (float* input = x)
        fixed (byte* activations = scratch)
        fixed (float* output = y)
        {
            var conversion = new ActivationRows<TActivation>(input, weights.Columns, activations, activationRowBytes);
            For(pool, count, Math.Max(1, MinimumActivationsPerRange / weights.Columns), conversion);

            var products = new DotTiles<TWeight, TActivation>(weights, activations, activationRowBytes, count, output);
            For(pool, weights.Rows, RangeGrain(weights.RowBytes), products);
        }
    }

    /// <summary><see cref="MatMul{TWeight, TActivation}"/> for the format pair of <paramref name="weights"/>.</summary>
    public static void MatMul(in WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, Span<byte> scratch, KernelThreadPool? pool = null)
    {
        var call = new MatMulCall(weights, x, y, scratch, pool);
        WeightFormats.Visit(weights.Type, ref call);
    }

    /// <summary>Converts activation rows to <typeparamref name="TActivation"/>.</summary>
    private readonly struct ActivationRows<TActivation>(float* input, int columns, byte* output, int rowBytes) : IRangeBody
        where TActivation : IActivationFormat
    {
        /// <inheritdoc cref="DotRows{TWeight, TActivation}" path="/remarks"/>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Execute(int start, int end)
        {
            for (int t = start; t < end; t++)
            {
                TActivation.Quantize(
                    SimdPaths.Best,
                    new ReadOnlySpan<float>(input + (long)t * columns, columns),
                    new Span<byte>(output + (long)t * rowBytes, rowBytes));
            }
        }
    }

    /// <summary>Every activation row dotted with a range of weight rows, tile by tile.</summary>
    private readonly struct DotTiles<TWeight, TActivation>(
        WeightMatrix weights, byte* activations, int activationRowBytes, int activationRows, float* output)
        : IRangeBody
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        /// <inheritdoc cref="DotRows{TWeight, TActivation}" path="/remarks"/>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Execute(int start, int end)
        {
            int rowsPerTile = Math.Max(1, WeightBytesPerTile / weights.RowBytes);
            for (int tileStart = start; tileStart < end;)
            {
                int count = SpanRows(weights, tileStart, Math.Min(rowsPerTile, end - tileStart));
                var rows = TileRows(weights, tileStart, count, out int stride);
                for (int t = 0; t < activationRows; t += ActivationRowsPerTile)
                {
                    int tileActivations = Math.Min(ActivationRowsPerTile, activationRows - t);
                    var tile = new WeightTile(
                        rows,
                        stride,
                        count,
                        new ReadOnlySpan<byte>(activations + (long)t * activationRowBytes, tileActivations * activationRowBytes),
                        activationRowBytes,
                        tileActivations,
                        weights.Columns,
                        new Span<float>(output + (long)t * weights.Rows + tileStart, (tileActivations - 1) * weights.Rows + count),
                        weights.Rows);
                    WeightTiles.Dot<TWeight, TActivation>(SimdPaths.Best, tile);
                }

                tileStart += count;
            }
        }
    }

    private readonly ref struct MatMulCall(WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, Span<byte> scratch, KernelThreadPool? pool)
        : IWeightFormatVisitor
    {
        private readonly ReadOnlySpan<float> _x = x;
        private readonly Span<float> _y = y;
        private readonly Span<byte> _scratch = scratch;

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat =>
            MatMul<TWeight, TActivation>(weights, _x, _y, _scratch, pool);
    }
}
