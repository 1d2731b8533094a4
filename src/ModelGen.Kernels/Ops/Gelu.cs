namespace ModelGen.Kernels.Ops;

/// <summary>
/// GELU in its tanh approximation, as ggml's CPU backend computes it: inputs in (-10, 10) are rounded to F16 and looked
/// up in a table of 65,536 F16 results; below, 0; above, the input itself.
/// </summary>
public static class Gelu
{
    private const float CoefficientA = 0.044715f;
    private const float SqrtTwoOverPi = 0.79788456080286535587989211986876f;

    /// <summary>GELU of every F16 value, rounded to F16: ggml's <c>ggml_table_gelu_f16</c>, made on first use.</summary>
    private static readonly Lazy<Half[]> s_table = new(() =>
    {
        var table = new Half[1 << 16];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = (Half)Exact((float)BitConverter.UInt16BitsToHalf((ushort)i));
        }

        return table;
    });

    /// <summary><c>0.5 x (1 + tanh(√(2/π) x (1 + 0.044715 x²)))</c> in float, in ggml's order of operations.</summary>
    public static float Exact(float x) => 0.5f * x * (1.0f + MathF.Tanh(SqrtTwoOverPi * x * (1.0f + CoefficientA * x * x)));

    /// <summary>GeGLU: <c>gate = gelu(gate) * up</c>, in place in <paramref name="gate"/>, as <c>ggml_vec_geglu_f32</c>.</summary>
    public static void Gate(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length != gate.Length)
        {
            throw new ArgumentException("GeGLU needs gate and up of one length");
        }

        var table = s_table.Value;
        for (int i = 0; i < gate.Length; i++)
        {
            float x = gate[i];
            gate[i] = x <= -10.0f ? 0.0f
                : x >= 10.0f ? x * up[i]
                : (float)table[BitConverter.HalfToUInt16Bits((Half)x)] * up[i];
        }
    }
}
