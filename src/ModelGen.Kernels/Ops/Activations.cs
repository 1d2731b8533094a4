using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace ModelGen.Kernels.Ops;

/// <summary>Elementwise operations of the transformer block.</summary>
public static class Activations
{
    /// <summary>
    /// SwiGLU: <c>gate = silu(gate) * up</c>, in place in <paramref name="gate"/>, with ggml's exponential for whole
    /// chunks of sixteen and the C library's for the tail, as <c>ggml_vec_swiglu_f32</c> computes it.
    /// </summary>
    public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length != gate.Length)
        {
            throw new ArgumentException("SwiGLU needs gate and up of one length");
        }

        int i = 0;
        if (GgmlExp.IsVectorized)
        {
            var g = MemoryMarshal.Cast<float, Vector512<float>>(gate);
            var u = MemoryMarshal.Cast<float, Vector512<float>>(up);
            for (int k = 0; k < g.Length; k++)
            {
                g[k] = g[k] / (Vector512<float>.One + GgmlExp.Exp(-g[k])) * u[k];
            }

            i = g.Length * Vector512<float>.Count;
        }
        else
        {
            for (; i + GgmlExp.ChunkLength <= gate.Length; i++)
            {
                gate[i] = gate[i] / (1.0f + GgmlExp.Exp(-gate[i])) * up[i];
            }
        }

        for (; i < gate.Length; i++)
        {
            gate[i] = gate[i] / (1.0f + MathF.Exp(-gate[i])) * up[i];
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

    /// <summary><c>x *= factor</c>, as <c>ggml_scale</c>.</summary>
    public static void Scale(Span<float> x, float factor)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= factor;
        }
    }
}
