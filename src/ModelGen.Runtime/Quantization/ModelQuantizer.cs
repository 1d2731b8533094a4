using ModelGen.Gguf;
using ModelGen.Kernels.Formats;
using ModelGen.Runtime.Engine;

namespace ModelGen.Runtime.Quantization;

/// <summary>
/// Quantizes a float GGUF model (F32, F16 or BF16 tensors) as llama-quantize does without an importance matrix: the
/// same tensor types (<see cref="QuantizationPlan"/>), the same bytes (what <c>ggml_quantize_chunk</c> runs when it
/// has no importance matrix: ggml's reference quantizers, and IQ4_NL's scale search), the same metadata and tensor order.
/// </summary>
/// <remarks>
/// Tensors are streamed: rows are read from the memory-mapped input, quantized in parallel a slab at a time and
/// written, so memory use is one slab (at most <see cref="SlabBytes"/>) whatever the model's size.
/// </remarks>
public static class ModelQuantizer
{
    /// <summary>What <c>general.quantization_version</c> says: ggml's <c>GGML_QNT_VERSION</c>, the block layouts in use.</summary>
    public const uint QuantizationVersion = 2;

    /// <summary>Output bytes quantized before they are written.</summary>
    private const long SlabBytes = 32 << 20;

    /// <summary>Elements one parallel work item quantizes (whole rows, at least one): llama.cpp's chunk size.</summary>
    private const int ChunkElements = 32 * 512;

    /// <summary>Metadata llama-quantize does not copy: it writes one file, not shards.</summary>
    private static readonly HashSet<string> SplitKeys = ["split.no", "split.count", "split.tensors.count"];

    private delegate void RowQuantizer(ReadOnlySpan<float> values, Span<byte> blocks);

    private delegate void RowDequantizer(ReadOnlySpan<byte> blocks, Span<float> values);

    /// <summary>Writes <paramref name="inputPath"/> quantized to <paramref name="type"/> to <paramref name="outputPath"/>.</summary>
    /// <param name="inputPath">A GGUF file of F32, F16 or BF16 tensors.</param>
    /// <param name="outputPath">The quantized file, written as llama-quantize writes it.</param>
    /// <param name="type">The quantization, with llama-quantize's choices per tensor for the mixed types.</param>
    /// <param name="progress">Receives the fraction of elements done, from 0 to 1.</param>
    /// <param name="threads">Threads quantizing rows; 0 for all cores.</param>
    /// <exception cref="UnsupportedModelException">The input has tensors that are not F32, F16 or BF16.</exception>
    /// <exception cref="GgufFormatException">The input is not a valid GGUF file.</exception>
    public static IReadOnlyList<PlannedTensor> Quantize(string inputPath, string outputPath, QuantizationType type,
        IProgress<double>? progress = null, int threads = 0)
    {
        using var input = GgufFile.Open(inputPath);
        if (input.Tensors.FirstOrDefault(t => t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)) is { } quantized)
        {
            throw new UnsupportedModelException(
                $"{Path.GetFileName(inputPath)} is not a float model (tensor '{quantized.Name}' is {quantized.Type.Info().Name}): quantize from F32, F16 or BF16");
        }

        var plan = QuantizationPlan.Create(input.Header, type);
        var writer = new GgufWriter();

        // llama.cpp copies the metadata, then sets these two keys, which moves them to the end if they were there.
        foreach (var entry in input.Metadata.Entries)
        {
            if (!SplitKeys.Contains(entry.Key) && entry.Key is not ("general.quantization_version" or "general.file_type"))
            {
                writer.Add(entry.Key, entry.Value);
            }
        }

        writer.Add("general.quantization_version", GgufValue.Of(QuantizationVersion))
            .Add("general.file_type", GgufValue.Of((uint)type));

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : -1 };
        long totalElements = Math.Max(1, plan.Sum(t => t.Source.ElementCount)), elementsDone = 0;
        foreach (var tensor in plan)
        {
            writer.AddTensor(tensor.Name, tensor.Type, tensor.Shape, stream => WriteTensor(input, tensor, stream, parallel, rows =>
            {
                elementsDone += rows * tensor.Source.RowLength;
                progress?.Report((double)elementsDone / totalElements);
            }));
        }

        writer.Write(outputPath);
        return plan;
    }

    private static unsafe void WriteTensor(GgufFile input, PlannedTensor tensor, Stream output, ParallelOptions parallel, Action<long> rowsDone)
    {
        var source = tensor.Source;
        long rows = source.RowCount;
        if (rows == 0)
        {
            return;
        }

        nint sourceData = (nint)input.GetDataPointer(source);
        long sourceRowBytes = source.RowBytes;
        if (tensor.Type == source.Type)
        {
            long slabRows = Math.Max(1, SlabBytes / sourceRowBytes);
            for (long first = 0; first < rows; first += slabRows)
            {
                long count = Math.Min(slabRows, rows - first);
                output.Write(new ReadOnlySpan<byte>((byte*)sourceData + first * sourceRowBytes, checked((int)(count * sourceRowBytes))));
                rowsDone(count);
            }

            return;
        }

        int rowLength = checked((int)source.RowLength);
        int rowBytes = checked((int)tensor.Type.Info().RowBytes(rowLength));
        var quantize = Quantizer(tensor.Type);
        var toFloat = source.Type == GgmlType.F32 ? null : Dequantizer(source.Type);
        int chunkRows = Math.Max(1, ChunkElements / rowLength);
        int slab = (int)Math.Clamp(SlabBytes / rowBytes / chunkRows * chunkRows, chunkRows, Math.Max(chunkRows, rows));
        var buffer = new byte[(long)slab * rowBytes];
        for (long first = 0; first < rows; first += slab)
        {
            int count = (int)Math.Min(slab, rows - first);
            long slabFirst = first;
            int chunks = (count + chunkRows - 1) / chunkRows;
            Parallel.For(0, chunks, parallel,
                () => toFloat is null ? null : new float[chunkRows * rowLength],
                (chunk, _, floats) =>
                {
                    int firstRow = chunk * chunkRows, chunkCount = Math.Min(chunkRows, count - firstRow);
                    byte* from = (byte*)sourceData + (slabFirst + firstRow) * sourceRowBytes;
                    int elements = chunkCount * rowLength;
                    ReadOnlySpan<float> values;
                    if (floats is null)
                    {
                        values = new ReadOnlySpan<float>(from, elements);
                    }
                    else
                    {
                        toFloat!(new ReadOnlySpan<byte>(from, checked((int)(chunkCount * sourceRowBytes))), floats.AsSpan(0, elements));
                        values = floats.AsSpan(0, elements);
                    }

                    quantize(values, buffer.AsSpan(firstRow * rowBytes, chunkCount * rowBytes));
                    return floats;
                },
                _ => { });
            output.Write(buffer, 0, count * rowBytes);
            rowsDone(count);
        }
    }

    /// <summary>
    /// What <c>ggml_quantize_chunk</c> runs for <paramref name="type"/> without an importance matrix: the reference
    /// quantizer, except for IQ4_NL, whose chunk quantizer searches more scales than its reference.
    /// </summary>
    private static RowQuantizer Quantizer(GgmlType type) => type switch
    {
        GgmlType.F32 => F32.QuantizeReference,
        GgmlType.F16 => F16.QuantizeReference,
        GgmlType.BF16 => BF16.QuantizeReference,
        GgmlType.Q4_0 => Q4_0.QuantizeReference,
        GgmlType.Q4_1 => Q4_1.QuantizeReference,
        GgmlType.Q5_0 => Q5_0.QuantizeReference,
        GgmlType.Q5_1 => Q5_1.QuantizeReference,
        GgmlType.Q8_0 => Q8_0.QuantizeReference,
        GgmlType.Q2_K => Q2_K.QuantizeReference,
        GgmlType.Q3_K => Q3_K.QuantizeReference,
        GgmlType.Q4_K => Q4_K.QuantizeReference,
        GgmlType.Q5_K => Q5_K.QuantizeReference,
        GgmlType.Q6_K => Q6_K.QuantizeReference,
        GgmlType.IQ4_NL => IQ4_NL.QuantizeSearched,
        GgmlType.IQ4_XS => IQ4_XS.QuantizeReference,
        _ => throw new NotSupportedException($"cannot quantize to {type.Info().Name}"),
    };

    /// <summary><c>ggml_fp16_to_fp32_row</c> and <c>ggml_bf16_to_fp32_row</c>, which llama.cpp applies before quantizing.</summary>
    private static RowDequantizer Dequantizer(GgmlType type) => type switch
    {
        GgmlType.F16 => F16.Dequantize,
        GgmlType.BF16 => BF16.Dequantize,
        _ => throw new NotSupportedException($"cannot read {type.Info().Name} as floats"),
    };
}
