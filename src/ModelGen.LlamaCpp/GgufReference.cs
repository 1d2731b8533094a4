using System.Runtime.InteropServices;
using ModelGen.Gguf;

namespace ModelGen.LlamaCpp;

/// <summary>
/// libggml's own GGUF parser (<c>gguf_init_from_file</c>), read out into plain values: the second parser our
/// reader is differed against.
/// </summary>
public static unsafe partial class GgufReference
{
    /// <summary>What ggml's parser reports about a file.</summary>
    public sealed record Parsed(uint Version, long Alignment, long DataOffset,
        IReadOnlyList<(string Key, GgufValueType Type, object Value)> Metadata,
        IReadOnlyList<(string Name, GgmlType Type, long[] Ne, long Offset, long Size)> Tensors);

    /// <summary>Parses <paramref name="path"/> with ggml, or returns null when ggml rejects the file.</summary>
    public static Parsed? Parse(string path)
    {
        LlamaCppLibrary.EnsureLoaded();
        var init = new InitParams { NoAlloc = 1, Context = null };
        nint ctx = gguf_init_from_file(path, init);
        if (ctx == 0)
        {
            return null;
        }

        try
        {
            var metadata = new List<(string, GgufValueType, object)>();
            for (long i = 0; i < gguf_get_n_kv(ctx); i++)
            {
                var type = (GgufValueType)gguf_get_kv_type(ctx, i);
                metadata.Add((Str(gguf_get_key(ctx, i)), type, type == GgufValueType.Array ? ReadArray(ctx, i) : ReadScalar(ctx, i, type)));
            }

            var tensors = new List<(string, GgmlType, long[], long, long)>();
            for (long i = 0; i < gguf_get_n_tensors(ctx); i++)
            {
                long* ne = gguf_get_tensor_ne(ctx, i);
                tensors.Add((Str(gguf_get_tensor_name(ctx, i)), (GgmlType)gguf_get_tensor_type(ctx, i),
                    [ne[0], ne[1], ne[2], ne[3]], (long)gguf_get_tensor_offset(ctx, i), (long)gguf_get_tensor_size(ctx, i)));
            }

            return new Parsed(gguf_get_version(ctx), (long)gguf_get_alignment(ctx), (long)gguf_get_data_offset(ctx), metadata, tensors);
        }
        finally
        {
            gguf_free(ctx);
        }
    }

    private static object ReadScalar(nint ctx, long i, GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => gguf_get_val_u8(ctx, i),
        GgufValueType.Int8 => gguf_get_val_i8(ctx, i),
        GgufValueType.UInt16 => gguf_get_val_u16(ctx, i),
        GgufValueType.Int16 => gguf_get_val_i16(ctx, i),
        GgufValueType.UInt32 => gguf_get_val_u32(ctx, i),
        GgufValueType.Int32 => gguf_get_val_i32(ctx, i),
        GgufValueType.Float32 => gguf_get_val_f32(ctx, i),
        GgufValueType.Bool => gguf_get_val_bool(ctx, i) != 0,
        GgufValueType.String => Str(gguf_get_val_str(ctx, i)),
        GgufValueType.UInt64 => gguf_get_val_u64(ctx, i),
        GgufValueType.Int64 => gguf_get_val_i64(ctx, i),
        GgufValueType.Float64 => gguf_get_val_f64(ctx, i),
        _ => throw new NotSupportedException($"gguf type {type}"),
    };

    private static Array ReadArray(nint ctx, long i)
    {
        var type = (GgufValueType)gguf_get_arr_type(ctx, i);
        int n = checked((int)gguf_get_arr_n(ctx, i));
        if (type == GgufValueType.String)
        {
            var strings = new string[n];
            for (int j = 0; j < n; j++)
            {
                strings[j] = Str(gguf_get_arr_str(ctx, i, (nuint)j));
            }

            return strings;
        }

        void* data = gguf_get_arr_data(ctx, i);
        return type switch
        {
            GgufValueType.UInt8 => new ReadOnlySpan<byte>(data, n).ToArray(),
            GgufValueType.Int8 => new ReadOnlySpan<sbyte>(data, n).ToArray(),
            GgufValueType.UInt16 => new ReadOnlySpan<ushort>(data, n).ToArray(),
            GgufValueType.Int16 => new ReadOnlySpan<short>(data, n).ToArray(),
            GgufValueType.UInt32 => new ReadOnlySpan<uint>(data, n).ToArray(),
            GgufValueType.Int32 => new ReadOnlySpan<int>(data, n).ToArray(),
            GgufValueType.Float32 => new ReadOnlySpan<float>(data, n).ToArray(),
            GgufValueType.Bool => new ReadOnlySpan<byte>(data, n).ToArray().Select(b => b != 0).ToArray(),
            GgufValueType.UInt64 => new ReadOnlySpan<ulong>(data, n).ToArray(),
            GgufValueType.Int64 => new ReadOnlySpan<long>(data, n).ToArray(),
            GgufValueType.Float64 => new ReadOnlySpan<double>(data, n).ToArray(),
            _ => throw new NotSupportedException($"gguf array of {type}"),
        };
    }

    private static string Str(byte* s) => Marshal.PtrToStringUTF8((nint)s)!;

    [StructLayout(LayoutKind.Sequential)]
    private struct InitParams
    {
        public byte NoAlloc;
        public void* Context;
    }

    [LibraryImport(LlamaCppLibrary.GgmlBase, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint gguf_init_from_file(string fname, InitParams parameters);

    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial void gguf_free(nint ctx);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial uint gguf_get_version(nint ctx);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial nuint gguf_get_alignment(nint ctx);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial nuint gguf_get_data_offset(nint ctx);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial long gguf_get_n_kv(nint ctx);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial byte* gguf_get_key(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial int gguf_get_kv_type(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial int gguf_get_arr_type(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial nuint gguf_get_arr_n(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial void* gguf_get_arr_data(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial byte* gguf_get_arr_str(nint ctx, long id, nuint i);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial byte gguf_get_val_u8(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial sbyte gguf_get_val_i8(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial ushort gguf_get_val_u16(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial short gguf_get_val_i16(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial uint gguf_get_val_u32(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial int gguf_get_val_i32(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial float gguf_get_val_f32(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial ulong gguf_get_val_u64(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial long gguf_get_val_i64(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial double gguf_get_val_f64(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial byte gguf_get_val_bool(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial byte* gguf_get_val_str(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial long gguf_get_n_tensors(nint ctx);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial nuint gguf_get_tensor_offset(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial byte* gguf_get_tensor_name(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial long* gguf_get_tensor_ne(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial int gguf_get_tensor_type(nint ctx, long id);
    [LibraryImport(LlamaCppLibrary.GgmlBase)] private static partial nuint gguf_get_tensor_size(nint ctx, long id);
}
