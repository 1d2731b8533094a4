using ModelGen.Kernels.Ops;
using ModelGen.Kernels.Threading;

namespace ModelGen.Kernels;

/// <summary>
/// Fused products for a model whose schedule is fixed (the compiled class): matrices that read the same activations
/// share one conversion of them and one pool dispatch (a block's query, key and value projections; its gate and up
/// projections), and SwiGLU runs on each range of gate and up outputs as soon as that range is done, while it is in
/// cache. Every output equals <see cref="MatVec{TWeight, TActivation}"/>'s or
/// <see cref="MatMul{TWeight, TActivation}"/>'s bit for bit: the same dots, fewer thread synchronisations.
/// </summary>
public static unsafe partial class MatrixKernels
{
    /// <summary>
    /// <c>Y_i = X W_iᵀ</c> for three matrices over the same activation rows (one row is a decode step), in one dispatch
    /// over the rows of all three.
    /// </summary>
    /// <param name="x">Activation rows of the matrices' common column count, one after another.</param>
    /// <param name="w0">The first matrix.</param>
    /// <param name="y0">The first result: for each activation row, one value per row of <paramref name="w0"/>.</param>
    /// <param name="w1">The second matrix.</param>
    /// <param name="y1">The second result, as <paramref name="y0"/>.</param>
    /// <param name="w2">The third matrix.</param>
    /// <param name="y2">The third result, as <paramref name="y0"/>.</param>
    /// <param name="scratch">
    /// At least the sum of <see cref="ActivationBytes{TActivation}"/>(columns, activation rows) over the distinct
    /// activation formats.
    /// </param>
    /// <param name="pool">The workers the rows are shared among; <see langword="null"/> for the calling thread alone.</param>
    public static void MatMul<TWeight0, TActivation0, TWeight1, TActivation1, TWeight2, TActivation2>(
        ReadOnlySpan<float> x,
        in WeightMatrix w0,
        Span<float> y0,
        in WeightMatrix w1,
        Span<float> y1,
        in WeightMatrix w2,
        Span<float> y2,
        Span<byte> scratch,
        KernelThreadPool? pool = null)
        where TWeight0 : IWeightFormat<TActivation0>
        where TActivation0 : IActivationFormat
        where TWeight1 : IWeightFormat<TActivation1>
        where TActivation1 : IActivationFormat
        where TWeight2 : IWeightFormat<TActivation2>
        where TActivation2 : IActivationFormat
    {
        CheckType<TWeight0>(w0);
        CheckType<TWeight1>(w1);
        CheckType<TWeight2>(w2);
        CheckLength(w1.Columns, w0.Columns, nameof(w1));
        CheckLength(w2.Columns, w0.Columns, nameof(w2));
        int count = ActivationRowCount(x, w0.Columns);
        CheckLength(y0.Length, (long)count * w0.Rows, nameof(y0));
        CheckLength(y1.Length, (long)count * w1.Rows, nameof(y1));
        CheckLength(y2.Length, (long)count * w2.Rows, nameof(y2));

        // Each distinct activation format is converted once, into its own part of the scratch.
        int bytes0 = ActivationBytes<TActivation0>(w0.Columns, count);
        int offset1 = typeof(TActivation1) == typeof(TActivation0) ? 0 : bytes0;
        int end1 = offset1 == 0 ? bytes0 : offset1 + ActivationBytes<TActivation1>(w0.Columns, count);
        int offset2 = typeof(TActivation2) == typeof(TActivation0) ? 0 : typeof(TActivation2) == typeof(TActivation1) ? offset1 : end1;
        int end2 = offset2 < end1 ? end1 : offset2 + ActivationBytes<TActivation2>(w0.Columns, count);
        CheckScratch(scratch, end2);

        fixed (float* input = x)
        fixed (byte* activations = scratch)
        fixed (float* output0 = y0)
        fixed (float* output1 = y1)
        fixed (float* output2 = y2)
        {
            Convert<TActivation0>(input, w0.Columns, count, activations, pool);
            if (offset1 != 0)
            {
                Convert<TActivation1>(input, w0.Columns, count, activations + offset1, pool);
            }

            if (offset2 == end1)
            {
                Convert<TActivation2>(input, w0.Columns, count, activations + offset2, pool);
            }

            var products = new ThreeProducts<TWeight0, TActivation0, TWeight1, TActivation1, TWeight2, TActivation2>(
                new Product<TWeight0, TActivation0>(w0, activations, count, output0),
                new Product<TWeight1, TActivation1>(w1, activations + offset1, count, output1),
                new Product<TWeight2, TActivation2>(w2, activations + offset2, count, output2));
            int rowBytes = Math.Max(w0.RowBytes, Math.Max(w1.RowBytes, w2.RowBytes));
            For(pool, w0.Rows + w1.Rows + w2.Rows, RangeGrain(rowBytes), products);
        }
    }

    /// <summary>
    /// The SwiGLU feed-forward's first half: <c>hidden = silu(X Gᵀ) * (X Uᵀ)</c>, row by row as
    /// <see cref="Activations.SwiGlu"/> of the two products computes it, in one dispatch over the hidden features.
    /// </summary>
    /// <param name="x">Activation rows of the matrices' common column count, one after another.</param>
    /// <param name="gate">The gate matrix, whose products go through SiLU.</param>
    /// <param name="up">The up matrix, with as many rows as <paramref name="gate"/>.</param>
    /// <param name="hidden">The result: for each activation row, one value per gate row.</param>
    /// <param name="upOutput">Where the up projection goes before it is multiplied in; as long as <paramref name="hidden"/>.</param>
    /// <param name="scratch">At least <see cref="ActivationBytes{TActivation}"/>(columns, activation rows) per distinct activation format.</param>
    /// <param name="pool">The workers the hidden features are shared among; <see langword="null"/> for the calling thread alone.</param>
    public static void MatMulSwiGlu<TGate, TGateActivation, TUp, TUpActivation>(
        ReadOnlySpan<float> x,
        in WeightMatrix gate,
        in WeightMatrix up,
        Span<float> hidden,
        Span<float> upOutput,
        Span<byte> scratch,
        KernelThreadPool? pool = null)
        where TGate : IWeightFormat<TGateActivation>
        where TGateActivation : IActivationFormat
        where TUp : IWeightFormat<TUpActivation>
        where TUpActivation : IActivationFormat
    {
        CheckType<TGate>(gate);
        CheckType<TUp>(up);
        CheckLength(up.Columns, gate.Columns, nameof(up));
        CheckLength(up.Rows, gate.Rows, nameof(up));
        int count = ActivationRowCount(x, gate.Columns);
        CheckLength(hidden.Length, (long)count * gate.Rows, nameof(hidden));
        CheckLength(upOutput.Length, hidden.Length, nameof(upOutput));
        if (gate.Rows % GgmlExp.ChunkLength != 0)
        {
            // SwiGLU's tail (the last Rows % 16 features of a row) takes another exponential; ranges must not move it.
            throw new ArgumentException($"{gate.Rows} features are not whole chunks of {GgmlExp.ChunkLength}", nameof(gate));
        }

        int gateBytes = ActivationBytes<TGateActivation>(gate.Columns, count);
        int upOffset = typeof(TUpActivation) == typeof(TGateActivation) ? 0 : gateBytes;
        CheckScratch(scratch, upOffset == 0 ? gateBytes : upOffset + ActivationBytes<TUpActivation>(gate.Columns, count));

        fixed (float* input = x)
        fixed (byte* activations = scratch)
        fixed (float* hiddenOutput = hidden)
        fixed (float* upValues = upOutput)
        {
            Convert<TGateActivation>(input, gate.Columns, count, activations, pool);
            if (upOffset != 0)
            {
                Convert<TUpActivation>(input, gate.Columns, count, activations + upOffset, pool);
            }

            var body = new SwiGluProducts<TGate, TGateActivation, TUp, TUpActivation>(
                new Product<TGate, TGateActivation>(gate, activations, count, hiddenOutput),
                new Product<TUp, TUpActivation>(up, activations + upOffset, count, upValues));

            // Ranges start at multiples of the grain: a multiple of SwiGLU's chunk keeps every chunk whole.
            int grain = (RangeGrain(gate.RowBytes + up.RowBytes) + GgmlExp.ChunkLength - 1) / GgmlExp.ChunkLength * GgmlExp.ChunkLength;
            For(pool, gate.Rows, grain, body);
        }
    }

    private static int ActivationRowCount(ReadOnlySpan<float> x, int columns)
    {
        if (x.Length == 0 || x.Length % columns != 0)
        {
            throw new ArgumentException($"{x.Length} elements are not rows of {columns}", nameof(x));
        }

        return x.Length / columns;
    }

    /// <summary>Converts <paramref name="count"/> activation rows; one row (a decode step) on the calling thread.</summary>
    private static void Convert<TActivation>(float* input, int columns, int count, byte* output, KernelThreadPool? pool)
        where TActivation : IActivationFormat
    {
        var conversion = new ActivationRows<TActivation>(input, columns, output, ActivationBytes<TActivation>(columns));
        For(count == 1 ? null : pool, count, Math.Max(1, MinimumActivationsPerRange / columns), conversion);
    }

    /// <summary>One matrix's share of a fused product: its weight rows against every activation row.</summary>
    private readonly struct Product<TWeight, TActivation>(WeightMatrix weights, byte* activations, int activationRows, float* output)
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat
    {
        public int Rows => weights.Rows;

        public int ActivationRows => activationRows;

        public float* Output => output;

        /// <summary>Weight rows <paramref name="start"/> to <paramref name="end"/> - 1 against every activation row.</summary>
        public void Run(int start, int end)
        {
            int activationBytes = ActivationBytes<TActivation>(weights.Columns);
            if (activationRows == 1)
            {
                new DotRows<TWeight, TActivation>(weights, activations, activationBytes, output).Execute(start, end);
            }
            else
            {
                new DotTiles<TWeight, TActivation>(weights, activations, activationBytes, activationRows, output).Execute(start, end);
            }
        }

        /// <summary>The part of items <paramref name="start"/> to <paramref name="end"/> - 1 that falls on this matrix's rows, numbered from <paramref name="first"/>.</summary>
        public void RunPart(int start, int end, int first)
        {
            int from = Math.Max(start - first, 0), to = Math.Min(end - first, Rows);
            if (from < to)
            {
                Run(from, to);
            }
        }
    }

    /// <summary>The rows of three matrices numbered one after another.</summary>
    private readonly struct ThreeProducts<TWeight0, TActivation0, TWeight1, TActivation1, TWeight2, TActivation2>(
        Product<TWeight0, TActivation0> p0, Product<TWeight1, TActivation1> p1, Product<TWeight2, TActivation2> p2)
        : IRangeBody
        where TWeight0 : IWeightFormat<TActivation0>
        where TActivation0 : IActivationFormat
        where TWeight1 : IWeightFormat<TActivation1>
        where TActivation1 : IActivationFormat
        where TWeight2 : IWeightFormat<TActivation2>
        where TActivation2 : IActivationFormat
    {
        public void Execute(int start, int end)
        {
            p0.RunPart(start, end, 0);
            p1.RunPart(start, end, p0.Rows);
            p2.RunPart(start, end, p0.Rows + p1.Rows);
        }
    }

    /// <summary>Gate and up rows of one range of hidden features, then SwiGLU over that range of every activation row.</summary>
    private readonly struct SwiGluProducts<TGate, TGateActivation, TUp, TUpActivation>(
        Product<TGate, TGateActivation> gate, Product<TUp, TUpActivation> up)
        : IRangeBody
        where TGate : IWeightFormat<TGateActivation>
        where TGateActivation : IActivationFormat
        where TUp : IWeightFormat<TUpActivation>
        where TUpActivation : IActivationFormat
    {
        public void Execute(int start, int end)
        {
            gate.Run(start, end);
            up.Run(start, end);
            for (int t = 0; t < gate.ActivationRows; t++)
            {
                long offset = (long)t * gate.Rows + start;
                Activations.SwiGlu(new Span<float>(gate.Output + offset, end - start), new ReadOnlySpan<float>(up.Output + offset, end - start));
            }
        }
    }
}
