using System.Buffers.Binary;
using ModelGen.Gguf;

namespace ModelGen.TestSupport.Fuzzing;

/// <summary>
/// Mutants that once broke a target, kept in <c>tests/FuzzRegressions/TARGET/</c> and named by what they broke;
/// each test project replays its targets' files through the same oracle every run. A mutant of a model is stored
/// without its tensor data (<see cref="HeaderOnly"/>), which loaders do not parse; replay appends zeros for it.
/// </summary>
public static class FuzzRegressions
{
    public static string Directory { get; } = Path.Combine(SharedData.RepositoryRoot, "tests", "FuzzRegressions");

    /// <summary>The regression files of <paramref name="target"/> (<c>reader</c>, <c>tokenizer</c>, <c>loader</c>, <c>generator</c>).</summary>
    public static string[] Files(string target)
    {
        var folder = Path.Combine(Directory, target);
        return System.IO.Directory.Exists(folder) ? [.. System.IO.Directory.GetFiles(folder, "*.gguf").Order(StringComparer.Ordinal)] : [];
    }

    /// <summary>The most tensor data <see cref="WithZeroData"/> appends.</summary>
    private const long MaxZeroData = 16L << 20;

    /// <summary>The bytes of <paramref name="mutant"/> up to where its seed's header ends (or all, if shorter).</summary>
    public static byte[] HeaderOnly(byte[] mutant, int seedDataOffset) => mutant[..Math.Min(mutant.Length, seedDataOffset)];

    /// <summary>
    /// The file at <paramref name="path"/> followed by zeros up to the end of the tensor data its header declares,
    /// when the header can be walked and declares at most 16 MiB; else the file as it is.
    /// </summary>
    public static byte[] WithZeroData(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long end;
        try
        {
            var layout = new GgufLayout(bytes);
            end = layout.DataOffset;
            foreach (var tensor in layout.Tensors)
            {
                long elements = 1;
                foreach (int offset in tensor.DimensionOffsets)
                {
                    elements = checked(elements * (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(offset)));
                }

                uint type = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(tensor.TypeOffset));
                long dataOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(tensor.DataOffsetOffset));
                long size = GgmlTypes.TryGetInfo(type, out var info) ? info.RowBytes(elements) : 0;
                end = Math.Max(end, checked(layout.DataOffset + dataOffset + Math.Max(size, 0)));
            }
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            return bytes;
        }

        return end > bytes.Length && end - bytes.Length <= MaxZeroData ? [.. bytes, .. new byte[end - bytes.Length]] : bytes;
    }
}
