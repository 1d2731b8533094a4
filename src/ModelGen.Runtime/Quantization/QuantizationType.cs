using ModelGen.Gguf;

namespace ModelGen.Runtime.Quantization;

/// <summary>
/// What a model is quantized to, named as llama-quantize names it and numbered as llama.cpp's <c>enum llama_ftype</c>
/// (the value written to <c>general.file_type</c>). The <c>_M</c> mixes give some tensors more bits than the default
/// type; see <see cref="QuantizationPlan"/>.
/// </summary>
public enum QuantizationType : uint
{
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q8_0 = 7,
    Q5_0 = 8,
    Q5_1 = 9,
    Q2_K = 10,
    Q3_K_M = 12,
    Q4_K_M = 15,
    Q5_K_M = 17,
    Q6_K = 18,
    IQ4_NL = 25,
    IQ4_XS = 30,
    BF16 = 32,
}

public static class QuantizationTypes
{
    /// <summary>Every type, in the order llama-quantize lists them.</summary>
    public static IReadOnlyList<QuantizationType> All { get; } = Enum.GetValues<QuantizationType>();

    /// <summary>A type by its name, ignoring case (<c>q4_k_m</c>); numbers are not names.</summary>
    /// <exception cref="ArgumentException">Not a known name.</exception>
    public static QuantizationType Parse(string name) =>
        All.Where(t => t.ToString().Equals(name, StringComparison.OrdinalIgnoreCase)).Select(t => (QuantizationType?)t).FirstOrDefault()
        ?? throw new ArgumentException($"unknown quantization type '{name}'; known: {string.Join(", ", All)}");

    /// <summary>The tensor type of the mix: what a tensor gets unless a rule says otherwise (<c>llama_ftype_get_default_type</c>).</summary>
    public static GgmlType DefaultTensorType(this QuantizationType type) => type switch
    {
        QuantizationType.F16 => GgmlType.F16,
        QuantizationType.BF16 => GgmlType.BF16,
        QuantizationType.Q4_0 => GgmlType.Q4_0,
        QuantizationType.Q4_1 => GgmlType.Q4_1,
        QuantizationType.Q5_0 => GgmlType.Q5_0,
        QuantizationType.Q5_1 => GgmlType.Q5_1,
        QuantizationType.Q8_0 => GgmlType.Q8_0,
        QuantizationType.Q2_K => GgmlType.Q2_K,
        QuantizationType.Q3_K_M => GgmlType.Q3_K,
        QuantizationType.Q4_K_M => GgmlType.Q4_K,
        QuantizationType.Q5_K_M => GgmlType.Q5_K,
        QuantizationType.Q6_K => GgmlType.Q6_K,
        QuantizationType.IQ4_NL => GgmlType.IQ4_NL,
        QuantizationType.IQ4_XS => GgmlType.IQ4_XS,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
