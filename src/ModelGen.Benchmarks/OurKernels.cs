using ModelGen.Gguf;
using ModelGen.Kernels;

namespace ModelGen.Benchmarks;

/// <summary>Our kernels as function pointers, chosen by type once, outside the measured code.</summary>
internal static unsafe class OurKernels
{
    /// <summary>
    /// <see cref="IWeightFormat{TActivation}.Dot"/> of the format <paramref name="type"/>, the method itself: a wrapper
    /// would be the JIT's compilation root and inline the kernel under its own, smaller inlining budget.
    /// </summary>
    public static delegate*<SimdPath, ReadOnlySpan<byte>, ReadOnlySpan<byte>, int, float> Dot(GgmlType type)
    {
        var visitor = default(DotVisitor);
        WeightFormats.Visit(type, ref visitor);
        return visitor.Function;
    }

    private struct DotVisitor : IWeightFormatVisitor
    {
        public delegate*<SimdPath, ReadOnlySpan<byte>, ReadOnlySpan<byte>, int, float> Function;

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat =>
            Function = &TWeight.Dot;
    }
}
