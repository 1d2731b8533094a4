using ModelGen.Gguf;

namespace ModelGen.Generator;

/// <summary>
/// The ggml formats ModelGen.Kernels implements as weight formats (<c>IWeightFormat&lt;TActivation&gt;</c>), each with
/// the activation format ggml converts activations to before its dot products (<c>vec_dot_type</c>).
/// </summary>
internal static class WeightFormatTable
{
    private static readonly Dictionary<GgmlType, GgmlType> ActivationOf = new()
    {
        [GgmlType.F32] = GgmlType.F32,
        [GgmlType.F16] = GgmlType.F16,
        [GgmlType.BF16] = GgmlType.BF16,
        [GgmlType.Q4_0] = GgmlType.Q8_0,
        [GgmlType.Q4_1] = GgmlType.Q8_1,
        [GgmlType.Q5_0] = GgmlType.Q8_0,
        [GgmlType.Q5_1] = GgmlType.Q8_1,
        [GgmlType.Q8_0] = GgmlType.Q8_0,
        [GgmlType.IQ4_NL] = GgmlType.Q8_0,
        [GgmlType.Q2_K] = GgmlType.Q8_K,
        [GgmlType.Q3_K] = GgmlType.Q8_K,
        [GgmlType.Q4_K] = GgmlType.Q8_K,
        [GgmlType.Q5_K] = GgmlType.Q8_K,
        [GgmlType.Q6_K] = GgmlType.Q8_K,
        [GgmlType.IQ4_XS] = GgmlType.Q8_K,
    };

    public static bool IsWeightFormat(GgmlType type) => ActivationOf.ContainsKey(type);

    public static GgmlType Activation(GgmlType weight) => ActivationOf[weight];

    /// <summary>The kernel struct's name: the enum member's, as the structs in ModelGen.Kernels.Formats are named.</summary>
    public static string StructName(GgmlType type) => type.ToString();

    /// <summary>Bytes <paramref name="columns"/> activations take once converted for <paramref name="weight"/> weights.</summary>
    public static long ActivationBytes(GgmlType weight, long columns)
    {
        var info = Activation(weight).Info();
        return columns / info.BlockSize * info.BytesPerBlock;
    }
}
