namespace ModelGen.Gguf;

/// <summary>
/// Tensor element types, numbered exactly as ggml's <c>enum ggml_type</c>. Ids that ggml has retired
/// (4, 5, 31-33, 36-38) are not members: a file that uses them is rejected, as llama.cpp rejects it.
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
    NVFP4 = 40,
    Q1_0 = 41,
    Q2_0 = 42,
}

/// <summary>The storage facts of one <see cref="GgmlType"/>: elements per block and bytes per block.</summary>
/// <param name="Type">The type.</param>
/// <param name="Name">ggml's own lower-case name (<c>q4_K</c>, <c>iq4_xs</c>, ...).</param>
/// <param name="BlockSize">Elements per block; a row's length must be a multiple of it.</param>
/// <param name="BytesPerBlock">Bytes one block occupies.</param>
/// <param name="IsQuantized">Whether ggml calls the type quantized.</param>
public readonly record struct GgmlTypeInfo(GgmlType Type, string Name, int BlockSize, int BytesPerBlock, bool IsQuantized)
{
    /// <summary>Bits per weight of this format, scales included.</summary>
    public double BitsPerWeight => 8.0 * BytesPerBlock / BlockSize;

    /// <summary>Bytes a row of <paramref name="elements"/> elements takes, or -1 when the row does not fill whole blocks.</summary>
    public long RowBytes(long elements) => elements % BlockSize == 0 ? elements / BlockSize * BytesPerBlock : -1;
}

/// <summary>The ggml type table.</summary>
public static class GgmlTypes
{
    private const int QK_K = 256;

    private static readonly GgmlTypeInfo?[] Table = Build();

    private static GgmlTypeInfo?[] Build()
    {
        var table = new GgmlTypeInfo?[43];
        void Add(GgmlType type, string name, int blockSize, int bytesPerBlock, bool quantized) =>
            table[(int)type] = new GgmlTypeInfo(type, name, blockSize, bytesPerBlock, quantized);

        Add(GgmlType.F32, "f32", 1, 4, false);
        Add(GgmlType.F16, "f16", 1, 2, false);
        Add(GgmlType.Q4_0, "q4_0", 32, 2 + 16, true);
        Add(GgmlType.Q4_1, "q4_1", 32, 2 + 2 + 16, true);
        Add(GgmlType.Q5_0, "q5_0", 32, 2 + 4 + 16, true);
        Add(GgmlType.Q5_1, "q5_1", 32, 2 + 2 + 4 + 16, true);
        Add(GgmlType.Q8_0, "q8_0", 32, 2 + 32, true);
        Add(GgmlType.Q8_1, "q8_1", 32, 2 + 2 + 32, true);
        Add(GgmlType.Q2_K, "q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4, true);
        Add(GgmlType.Q3_K, "q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12, true);
        Add(GgmlType.Q4_K, "q4_K", QK_K, 2 + 2 + 12 + QK_K / 2, true);
        Add(GgmlType.Q5_K, "q5_K", QK_K, 2 + 2 + 12 + QK_K / 2 + QK_K / 8, true);
        Add(GgmlType.Q6_K, "q6_K", QK_K, 2 + QK_K / 16 + 3 * QK_K / 4, true);
        Add(GgmlType.Q8_K, "q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2, true);
        Add(GgmlType.IQ2_XXS, "iq2_xxs", QK_K, 2 + QK_K / 8 * 2, true);
        Add(GgmlType.IQ2_XS, "iq2_xs", QK_K, 2 + QK_K / 8 * 2 + QK_K / 32, true);
        Add(GgmlType.IQ3_XXS, "iq3_xxs", QK_K, 2 + 3 * (QK_K / 8), true);
        Add(GgmlType.IQ1_S, "iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16, true);
        Add(GgmlType.IQ4_NL, "iq4_nl", 32, 2 + 16, true);
        Add(GgmlType.IQ3_S, "iq3_s", QK_K, 2 + 13 * (QK_K / 32) + QK_K / 64, true);
        Add(GgmlType.IQ2_S, "iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16, true);
        Add(GgmlType.IQ4_XS, "iq4_xs", QK_K, 2 + 2 + QK_K / 64 + QK_K / 2, true);
        Add(GgmlType.I8, "i8", 1, 1, false);
        Add(GgmlType.I16, "i16", 1, 2, false);
        Add(GgmlType.I32, "i32", 1, 4, false);
        Add(GgmlType.I64, "i64", 1, 8, false);
        Add(GgmlType.F64, "f64", 1, 8, false);
        Add(GgmlType.IQ1_M, "iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32, true);
        Add(GgmlType.BF16, "bf16", 1, 2, false);
        Add(GgmlType.TQ1_0, "tq1_0", QK_K, 2 + QK_K / 64 + (QK_K - 4 * QK_K / 64) / 5, true);
        Add(GgmlType.TQ2_0, "tq2_0", QK_K, 2 + QK_K / 4, true);
        Add(GgmlType.MXFP4, "mxfp4", 32, 1 + 16, true);
        Add(GgmlType.NVFP4, "nvfp4", 64, 4 + 32, true);
        Add(GgmlType.Q1_0, "q1_0", 128, 2 + 128 / 8, true);
        Add(GgmlType.Q2_0, "q2_0", 64, 2 + 64 / 4, true);
        return table;
    }

    /// <summary>Every type ggml knows, in id order.</summary>
    public static IEnumerable<GgmlTypeInfo> All
    {
        get
        {
            foreach (var info in Table)
            {
                if (info is { } i)
                {
                    yield return i;
                }
            }
        }
    }

    /// <summary>Looks up a raw type id as found in a file.</summary>
    public static bool TryGetInfo(uint id, out GgmlTypeInfo info)
    {
        if (id < (uint)Table.Length && Table[id] is { } known)
        {
            info = known;
            return true;
        }

        info = default;
        return false;
    }

    /// <summary>The storage facts of a known type.</summary>
    public static GgmlTypeInfo Info(this GgmlType type) =>
        TryGetInfo((uint)type, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(type), type, "not a ggml type");

    /// <summary>ggml's name for a type, or <c>type&lt;id&gt;</c> for an id ggml does not know.</summary>
    public static string Name(uint id) => TryGetInfo(id, out var info) ? info.Name : $"type{id}";
}
