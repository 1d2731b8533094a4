using System.Runtime.InteropServices;
using System.Text;
using ModelGen.Gguf;

namespace ModelGen.Cli;

/// <summary>Writes NumPy <c>.npy</c> files (format version 1.0).</summary>
internal static class Npy
{
    /// <summary>Writes a C-ordered little-endian float32 array of shape [rows, columns] to a new or replaced file.</summary>
    public static void WriteFloat32(string path, float[] values, int rows, int columns) =>
        OutputFile.Write(path, (Stream stream) => WriteFloat32(stream, values, rows, columns));

    /// <summary>Writes a C-ordered little-endian float32 array of shape [rows, columns].</summary>
    public static void WriteFloat32(Stream stream, ReadOnlySpan<float> values, int rows, int columns)
    {
        if ((long)rows * columns != values.Length)
        {
            throw new ArgumentException($"{values.Length} values are not {rows} × {columns}");
        }

        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}";
        // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        int total = (10 + dict.Length + 1 + 63) / 64 * 64;
        var header = dict.PadRight(total - 10 - 1) + "\n";
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(MemoryMarshal.AsBytes(values));
    }
}
