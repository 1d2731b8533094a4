using System.Runtime.CompilerServices;
using ModelGen.Gguf;
using ModelGen.Kernels.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Matrix products of quantized weights and float activations, as ggml's CPU <c>mul_mat</c> computes them: the
/// activations are converted once to the weight format's activation format, then every output is one
/// <see cref="IWeightFormat{TActivation}.Dot"/> of a weight row and an activation row.
/// </summary>
/// <remarks>
/// The generic methods are specialised by the JIT for each format pair; the ones taking only a
/// <see cref="WeightMatrix"/> pick the pair from <see cref="WeightMatrix.Type"/> with one switch per call. Row loops hand
/// the format tiles of rows (<see cref="WeightTiles"/>), which formats with a tiled kernel compute several pairs at a time.
/// Scratch is the caller's, sized by <see cref="ActivationBytes{TActivation}"/>, so that no call allocates.
/// </remarks>
public static unsafe partial class MatrixKernels
{
    /// <summary>Least weight bytes a thread's range gets: below it, handing work to another thread costs more than it saves.</summary>
    private const int MinimumWeightBytesPerRange = 32 * 1024;

    /// <summary>Bytes of scratch that <paramref name="count"/> activation rows of <paramref name="columns"/> elements take.</summary>
    public static int ActivationBytes<TActivation>(int columns, int count = 1)
        where TActivation : IActivationFormat
    {
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (columns % TActivation.BlockSize != 0)
        {
            throw new ArgumentException($"{columns} columns are not whole blocks of {TActivation.Type}", nameof(columns));
        }

        return checked(columns / TActivation.BlockSize * TActivation.BlockBytes * count);
    }

    /// <summary>
    /// <c>y = W x</c>: <paramref name="y"/>[r] is the dot product of weight row r with <paramref name="x"/>, with
    /// <paramref name="x"/> first converted to <typeparamref name="TActivation"/> in <paramref name="scratch"/>.
    /// </summary>
    /// <param name="weights">The matrix, in format <typeparamref name="TWeight"/>.</param>
    /// <param name="x"><see cref="WeightMatrix.Columns"/> activations.</param>
    /// <param name="y"><see cref="WeightMatrix.Rows"/> outputs.</param>
    /// <param name="scratch">At least <see cref="ActivationBytes{TActivation}"/>(columns) bytes.</param>
    /// <param name="pool">Threads to split the rows over; null runs on the calling thread.</param>
    public static void MatVec<TWeight, TActivation>(
        in WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, Span<byte> scratch, KernelThreadPool? pool = null)
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        CheckType<TWeight>(weights);
        CheckLength(x.Length, weights.Columns, nameof(x));
        CheckLength(y.Length, weights.Rows, nameof(y));
        int activationBytes = ActivationBytes<TActivation>(weights.Columns);
        CheckScratch(scratch, activationBytes);

        TActivation.Quantize(SimdPaths.Best, x, scratch[..activationBytes]);
        fixed (byte* activations = scratch)
        fixed (float* output = y)
        {
            var rows = new DotRows<TWeight, TActivation>(weights, activations, activationBytes, output);
            For(pool, weights.Rows, RangeGrain(weights.RowBytes), rows);
        }
    }

    /// <summary><see cref="MatVec{TWeight, TActivation}"/> for the format pair of <paramref name="weights"/>.</summary>
    public static void MatVec(in WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, Span<byte> scratch, KernelThreadPool? pool = null)
    {
        var call = new MatVecCall(weights, x, y, scratch, pool);
        WeightFormats.Visit(weights.Type, ref call);
    }

    /// <summary>Bytes of scratch that <paramref name="count"/> activation rows take for weights of <paramref name="weightType"/>.</summary>
    public static int ActivationBytes(GgmlType weightType, int columns, int count = 1)
    {
        var call = new ActivationBytesCall(columns, count);
        WeightFormats.Visit(weightType, ref call);
        return call.Result;
    }

    /// <summary>Rows per range: enough rows for <see cref="MinimumWeightBytesPerRange"/>.</summary>
    private static int RangeGrain(int rowBytes) => Math.Max(1, MinimumWeightBytesPerRange / rowBytes);

    private static void For<TBody>(KernelThreadPool? pool, int count, int grain, in TBody body)
        where TBody : struct, IRangeBody
    {
        if (pool is null)
        {
            body.Execute(0, count);
        }
        else
        {
            pool.For(count, grain, body);
        }
    }

    private static void CheckType<TWeight>(in WeightMatrix weights)
        where TWeight : IBlockFormat
    {
        if (weights.Type != TWeight.Type)
        {
            throw new ArgumentException($"the matrix holds {weights.Type}, not {TWeight.Type}", nameof(weights));
        }
    }

    private static void CheckLength(int length, long expected, string paramName)
    {
        if (length != expected)
        {
            throw new ArgumentException($"{length} elements where the matrix needs {expected}", paramName);
        }
    }

    private static void CheckScratch(Span<byte> scratch, int bytes)
    {
        if (scratch.Length < bytes)
        {
            throw new ArgumentException($"{scratch.Length} bytes of scratch where {bytes} are needed", nameof(scratch));
        }
    }

    /// <summary>Weight rows per <see cref="WeightTiles.Dot{TWeight, TActivation}"/> call of a row loop: enough that the call's checks cost nothing.</summary>
    private const int RowsPerTileCall = 64;

    /// <summary>
    /// Weight rows from <paramref name="start"/>, at most <paramref name="limit"/>, that one span reaches: a matrix of
    /// widely strided rows may span more bytes than a span can.
    /// </summary>
    private static int SpanRows(in WeightMatrix weights, int start, int limit)
    {
        long spanned = 1 + (int.MaxValue - weights.RowBytes) / weights.RowStride;
        return (int)Math.Min(Math.Min(limit, weights.Rows - start), spanned);
    }

    /// <summary>
    /// Rows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> of <paramref name="weights"/>
    /// (at most <see cref="SpanRows"/>), and their <paramref name="stride"/>, for a <see cref="WeightTile"/>.
    /// </summary>
    private static ReadOnlySpan<byte> TileRows(in WeightMatrix weights, int start, int count, out int stride)
    {
        stride = count > 1 ? (int)weights.RowStride : weights.RowBytes;
        return new ReadOnlySpan<byte>(weights.Data + start * weights.RowStride, (count - 1) * stride + weights.RowBytes);
    }

    /// <summary>One output per weight row: the row dotted with one activation row.</summary>
    /// <remarks>
    /// The row loops of the kernels are kept out of line (<see cref="MethodImplOptions.NoInlining"/>). A format's dot
    /// inlines a deep chain of vector helpers; with the loop inlined in turn into the pool's trampoline, the JIT ran
    /// out of inlining budget and left helpers as calls that pass vectors through memory: 2-4 times slower, on worker
    /// threads only. As compilation roots, the loops compile the same on every path.
    /// </remarks>
    private readonly struct DotRows<TWeight, TActivation>(WeightMatrix weights, byte* activations, int activationBytes, float* output)
        : IRangeBody
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void Execute(int start, int end)
        {
            var x = new ReadOnlySpan<byte>(activations, activationBytes);
            for (int r = start; r < end;)
            {
                int count = SpanRows(weights, r, Math.Min(RowsPerTileCall, end - r));
                var rows = TileRows(weights, r, count, out int stride);
                var tile = new WeightTile(rows, stride, count, x, activationBytes, 1, weights.Columns, new Span<float>(output + r, count), count);
                WeightTiles.Dot<TWeight, TActivation>(SimdPaths.Best, tile);
                r += count;
            }
        }
    }

    private readonly ref struct MatVecCall(WeightMatrix weights, ReadOnlySpan<float> x, Span<float> y, Span<byte> scratch, KernelThreadPool? pool)
        : IWeightFormatVisitor
    {
        private readonly ReadOnlySpan<float> _x = x;
        private readonly Span<float> _y = y;
        private readonly Span<byte> _scratch = scratch;

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat =>
            MatVec<TWeight, TActivation>(weights, _x, _y, _scratch, pool);
    }

    private struct ActivationBytesCall(int columns, int count) : IWeightFormatVisitor
    {
        public int Result { get; private set; }

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat =>
            Result = ActivationBytes<TActivation>(columns, count);
    }
}
