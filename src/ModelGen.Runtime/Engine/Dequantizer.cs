using ModelGen.Gguf;
using ModelGen.Kernels;

namespace ModelGen.Runtime.Engine;

/// <summary>Converts rows of any weight format, chosen at run time, to and from floats.</summary>
internal static class Dequantizer
{
    /// <summary>ggml's reference quantizer (<c>quantize_row_*_ref</c>) for <paramref name="type"/>.</summary>
    public static void QuantizeRow(GgmlType type, ReadOnlySpan<float> values, Span<byte> row)
    {
        var call = new QuantizeCall(values, row);
        WeightFormats.Visit(type, ref call);
    }

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

internal readonly ref struct QuantizeCall(ReadOnlySpan<float> values, Span<byte> row) : IWeightFormatVisitor
{
    private readonly ReadOnlySpan<float> _values = values;
    private readonly Span<byte> _row = row;

    public void Visit<TWeight, TActivation>()
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat =>
        TWeight.QuantizeReference(_values, _row);
}
