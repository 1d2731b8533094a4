using ModelGen.Gguf;
using ModelGen.Kernels;

namespace ModelGen.Runtime.Engine;

/// <summary>Dequantizes a row of any weight format, chosen at run time.</summary>
internal static class Dequantizer
{
    public static void Row(GgmlType type, ReadOnlySpan<byte> row, Span<float> values)
    {
        var call = new Call(row, values);
        WeightFormats.Visit(type, ref call);
    }

    private readonly ref struct Call(ReadOnlySpan<byte> row, Span<float> values) : IWeightFormatVisitor
    {
        private readonly ReadOnlySpan<byte> _row = row;
        private readonly Span<float> _values = values;

        public void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat =>
            TWeight.Dequantize(_row, _values);
    }
}
