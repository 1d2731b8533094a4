using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelGen.Kernels.Ops;

/// <summary>
/// The exponential as ggml's AVX-512 CPU code computes it (<c>ggml_v_expf</c>, a polynomial from Arm's
/// optimized-routines: about 1.5 ulp from the true value). SiLU and softmax use it for whole 16-lane chunks and the C
/// library's <c>expf</c> for the tail, so matching llama.cpp's activations bit for bit needs the same function: a
/// one-ulp difference upstream of an 8-bit activation quantization flips a rounding and shows in the logits.
/// </summary>
public static class GgmlExp
{
    /// <summary>Lanes ggml processes per chunk in its AVX-512 loops.</summary>
    public const int ChunkLength = 16;

    // The hexadecimal float constants of the algorithm, as IEEE bit patterns.
    private static readonly float Shift = BitConverter.Int32BitsToSingle(0x4B400000);     // 0x1.8p23: rounds to an integer when added
    private static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3FB8AA3B);     // 0x1.715476p+0
    private static readonly float Ln2High = BitConverter.Int32BitsToSingle(0x3F317200);   // 0x1.62e4p-1
    private static readonly float Ln2Low = BitConverter.Int32BitsToSingle(0x35BFBE8E);    // 0x1.7f7d1cp-20
    private static readonly float C1 = BitConverter.Int32BitsToSingle(0x3F7FFFF6);        // 0x1.ffffecp-1
    private static readonly float C2 = BitConverter.Int32BitsToSingle(0x3EFFFEDB);        // 0x1.fffdb6p-2
    private static readonly float C3 = BitConverter.Int32BitsToSingle(0x3E2AAF33);        // 0x1.555e66p-3
    private static readonly float C4 = BitConverter.Int32BitsToSingle(0x3D2B9F17);        // 0x1.573e2ep-5
    private static readonly float C5 = BitConverter.Int32BitsToSingle(0x3C072010);        // 0x1.0e4020p-7

    /// <summary>One lane of <c>ggml_v_expf</c>.</summary>
    public static float Exp(float x)
    {
        float z = MathF.FusedMultiplyAdd(x, Log2E, Shift);
        float n = z - Shift;
        float b = MathF.FusedMultiplyAdd(-n, Ln2Low, MathF.FusedMultiplyAdd(-n, Ln2High, x));
        float u = b * b;
        float j = MathF.FusedMultiplyAdd(
            MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C5, b, C4), u, MathF.FusedMultiplyAdd(C3, b, C2)),
            u,
            MathF.FusedMultiplyAdd(C1, b, 1f));
        if (MathF.Abs(n) > 192)
        {
            return n <= 0 ? 0f : float.PositiveInfinity;
        }

        // vscalefps: j * 2^n rounded once; exact in double, then one rounding to float.
        return (float)Math.ScaleB(j, (int)n);
    }

    /// <summary>Sixteen lanes of <c>ggml_v_expf</c> at once; needs AVX-512 (see <see cref="IsVectorized"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var z = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(Shift));
        var n = z - Vector512.Create(Shift);
        var b = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Low), Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2High), x));
        var u = b * b;
        var j = Vector512.FusedMultiplyAdd(
            Vector512.FusedMultiplyAdd(
                Vector512.FusedMultiplyAdd(Vector512.Create(C5), b, Vector512.Create(C4)),
                u,
                Vector512.FusedMultiplyAdd(Vector512.Create(C3), b, Vector512.Create(C2))),
            u,
            Vector512.FusedMultiplyAdd(Vector512.Create(C1), b, Vector512<float>.One));
        var result = Avx512F.Scale(j, n);
        var outOfRange = Vector512.GreaterThan(Vector512.Abs(n), Vector512.Create(192f));
        if (outOfRange == Vector512<float>.Zero)
        {
            return result;
        }

        var saturated = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(n, Vector512<float>.Zero), Vector512<float>.Zero, Vector512.Create(float.PositiveInfinity));
        return Vector512.ConditionalSelect(outOfRange, saturated, result);
    }

    /// <summary>Whether <see cref="Exp(Vector512{float})"/> runs here; otherwise callers use the lane emulation.</summary>
    public static bool IsVectorized => Avx512F.IsSupported;

    /// <summary>Sum of sixteen floats paired as <c>_mm512_reduce_add_ps</c> pairs them: halves, then quarters, then pairs.</summary>
    public static float ReduceAdd(ReadOnlySpan<float> v)
    {
        Span<float> t = stackalloc float[8];
        for (int i = 0; i < 8; i++)
        {
            t[i] = v[i + 8] + v[i];
        }

        float a0 = t[4] + t[0], a1 = t[5] + t[1], a2 = t[6] + t[2], a3 = t[7] + t[3];
        return (a0 + a2) + (a1 + a3);
    }
}
