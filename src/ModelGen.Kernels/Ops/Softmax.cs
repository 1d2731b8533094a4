namespace ModelGen.Kernels.Ops;

/// <summary>Softmax as ggml computes it: exponentials in float, their sum in double.</summary>
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
        for (int i = 0; i < x.Length; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inverse = (float)(1.0 / sum);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= inverse;
        }
    }
}
