using System.Numerics;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels.Ops;

/// <summary>Elementwise operations of the transformer block.</summary>
public static class Activations
{
    /// <summary>SwiGLU: <c>gate = silu(gate) * up</c>, in place in <paramref name="gate"/>.</summary>
    public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length != gate.Length)
        {
            throw new ArgumentException("SwiGLU needs gate and up of one length");
        }

        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            gate[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary><c>x += y</c> (the residual connection).</summary>
    public static void Add(Span<float> x, ReadOnlySpan<float> y)
    {
        if (y.Length != x.Length)
        {
            throw new ArgumentException("residual add needs operands of one length");
        }

        var xv = MemoryMarshal.Cast<float, Vector<float>>(x);
        var yv = MemoryMarshal.Cast<float, Vector<float>>(y);
        for (int i = 0; i < xv.Length; i++)
        {
            xv[i] += yv[i];
        }

        for (int i = xv.Length * Vector<float>.Count; i < x.Length; i++)
        {
            x[i] += y[i];
        }
    }
}
