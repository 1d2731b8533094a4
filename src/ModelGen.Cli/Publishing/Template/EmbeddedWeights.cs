using System.Buffers.Binary;

namespace ModelGen.Cli.Publishing;

/// <summary>
/// Weights appended to an executable so that one file ships: the GGUF file starts at a page boundary after the
/// executable's last byte, and a trailer of three little-endian 64-bit words (offset, length, magic) ends the file.
/// Loaders ignore bytes after an ELF image, and the weights stay memory-mapped from the executable, never copied.
/// Compiled into modelgen (which appends) and into every published executable (which finds them).
/// </summary>
internal static class EmbeddedWeights
{
    /// <summary>"MGWEIGHT" read as a little-endian 64-bit word.</summary>
    private const ulong Magic = 0x544847494557474D;

    /// <summary>A page, so that the mapped view starts exactly at the GGUF file and its tensors keep their alignment.</summary>
    private const int Alignment = 4096;

    private const int TrailerBytes = 3 * sizeof(ulong);

    /// <summary>Appends the GGUF file at <paramref name="weights"/> to <paramref name="executable"/>.</summary>
    public static void Append(string executable, string weights)
    {
        using var output = new FileStream(executable, FileMode.Append, FileAccess.Write);
        long offset = (output.Length + Alignment - 1) / Alignment * Alignment;
        output.Write(new byte[offset - output.Length]);
        long length;
        using (var input = new FileStream(weights, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20))
        {
            length = input.Length;
            input.CopyTo(output, 1 << 20);
        }

        Span<byte> trailer = stackalloc byte[TrailerBytes];
        BinaryPrimitives.WriteInt64LittleEndian(trailer, offset);
        BinaryPrimitives.WriteInt64LittleEndian(trailer[8..], length);
        BinaryPrimitives.WriteUInt64LittleEndian(trailer[16..], Magic);
        output.Write(trailer);
    }

    /// <summary>Where the weights appended to <paramref name="executable"/> are, or null if it has none.</summary>
    public static (long Offset, long Length)? Find(string executable)
    {
        using var file = new FileStream(executable, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        if (file.Length < TrailerBytes)
        {
            return null;
        }

        Span<byte> trailer = stackalloc byte[TrailerBytes];
        file.Position = file.Length - TrailerBytes;
        file.ReadExactly(trailer);
        long offset = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        long length = BinaryPrimitives.ReadInt64LittleEndian(trailer[8..]);
        bool valid = BinaryPrimitives.ReadUInt64LittleEndian(trailer[16..]) == Magic
                     && offset > 0 && length > 0 && offset <= file.Length - TrailerBytes - length;
        return valid ? (offset, length) : null;
    }
}
