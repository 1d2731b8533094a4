namespace ModelGen.Kernels.Ops;

/// <summary>
/// Softmax as ggml's CPU backend computes it: exponentials by <see cref="GgmlExp"/> in chunks of sixteen (the C
/// library's <c>expf</c> for the tail), each chunk summed in float as <c>_mm512_reduce_add_ps</c> does, the chunk sums
/// accumulated in double, and the result scaled by the float reciprocal.
/// </summary>
public static class Softmax
{
    /// <summary>In place: <c>x = exp(x - max) / sum</c>.</summary>
    public static void Apply(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x)
        {
            max = MathF.Max(max, v);
        }

        double sum = 0;
        int i = 0;
        for (; i + GgmlExp.ChunkLength <= x.Length; i += GgmlExp.ChunkLength)
        {
            var chunk = x.Slice(i, GgmlExp.ChunkLength);
            for (int k = 0; k < chunk.Length; k++)
            {
                chunk[k] = GgmlExp.Exp(chunk[k] - max);
            }

            sum += GgmlExp.ReduceAdd(chunk);
        }

        for (; i < x.Length; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inverse = (float)(1.0 / sum);
        for (int k = 0; k < x.Length; k++)
        {
            x[k] *= inverse;
        }
    }
}
