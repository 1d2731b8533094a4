using ModelGen.Gguf;
using ModelGen.Kernels.Formats;

namespace ModelGen.Kernels;

/// <summary>
/// An operation generic over a weight format and its activation format, run for a <see cref="GgmlType"/> known only
/// at run time by <see cref="WeightFormats.Visit"/>. Implemented by structs, so the call is specialised per pair.
/// </summary>
public interface IWeightFormatVisitor
{
    void Visit<TWeight, TActivation>()
        where TWeight : IWeightFormat<TActivation>
        where TActivation : IActivationFormat;
}

/// <summary>The weight formats the kernels implement, each with the activation format ggml pairs it with.</summary>
public static class WeightFormats
{
    /// <summary>Calls <paramref name="visitor"/> with the format pair of <paramref name="type"/>: one switch, then specialised code.</summary>
    /// <exception cref="NotSupportedException"><paramref name="type"/> is not a weight format the kernels implement.</exception>
    public static void Visit<TVisitor>(GgmlType type, ref TVisitor visitor)
        where TVisitor : IWeightFormatVisitor, allows ref struct
    {
        if (!TryVisit(type, ref visitor))
        {
            throw new NotSupportedException($"no kernels for {type} weights");
        }
    }

    /// <summary>As <see cref="Visit"/>, but returns false for a type the kernels do not implement.</summary>
    public static bool TryVisit<TVisitor>(GgmlType type, ref TVisitor visitor)
        where TVisitor : IWeightFormatVisitor, allows ref struct
    {
        switch (type)
        {
            case GgmlType.F32: visitor.Visit<F32, F32>(); break;
            case GgmlType.F16: visitor.Visit<F16, F16>(); break;
            case GgmlType.BF16: visitor.Visit<BF16, BF16>(); break;
            case GgmlType.Q4_0: visitor.Visit<Q4_0, Q8_0>(); break;
            case GgmlType.Q4_1: visitor.Visit<Q4_1, Q8_1>(); break;
            case GgmlType.Q5_0: visitor.Visit<Q5_0, Q8_0>(); break;
            case GgmlType.Q5_1: visitor.Visit<Q5_1, Q8_1>(); break;
            case GgmlType.Q8_0: visitor.Visit<Q8_0, Q8_0>(); break;
            case GgmlType.IQ4_NL: visitor.Visit<IQ4_NL, Q8_0>(); break;
            case GgmlType.Q2_K: visitor.Visit<Q2_K, Q8_K>(); break;
            case GgmlType.Q3_K: visitor.Visit<Q3_K, Q8_K>(); break;
            case GgmlType.Q4_K: visitor.Visit<Q4_K, Q8_K>(); break;
            case GgmlType.Q5_K: visitor.Visit<Q5_K, Q8_K>(); break;
            case GgmlType.Q6_K: visitor.Visit<Q6_K, Q8_K>(); break;
            case GgmlType.IQ4_XS: visitor.Visit<IQ4_XS, Q8_K>(); break;
            default: return false;
        }

        return true;
    }

    /// <summary>Whether the kernels implement <paramref name="type"/> as a weight format.</summary>
    public static bool IsSupported(GgmlType type)
    {
        var probe = default(Probe);
        return TryVisit(type, ref probe);
    }

    private struct Probe : IWeightFormatVisitor
    {
        public readonly void Visit<TWeight, TActivation>()
            where TWeight : IWeightFormat<TActivation>
            where TActivation : IActivationFormat
        {
        }
    }
}
