using System.Runtime.InteropServices;
using ModelGen.Gguf;

namespace ModelGen.LlamaCpp;

/// <summary>libggml-base and libggml-cpu entry points. Call <see cref="LlamaCppLibrary.EnsureLoaded"/> first.</summary>
public static unsafe partial class GgmlNative
{
    /// <summary><c>struct ggml_type_traits</c> from ggml.h.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TypeTraits
    {
        public byte* TypeName;
        public long BlockSize;
        public long BlockSizeInterleave;
        public nuint TypeSize;
        [MarshalAs(UnmanagedType.U1)] public bool IsQuantized;
        public delegate* unmanaged<void*, float*, long, void> ToFloat;
        public delegate* unmanaged<float*, void*, long, void> FromFloatRef;
    }

    /// <summary><c>struct ggml_type_traits_cpu</c> from ggml-cpu.h.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TypeTraitsCpu
    {
        public delegate* unmanaged<float*, void*, long, void> FromFloat;
        /// <summary><c>void vec_dot(int n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc)</c>.</summary>
        public delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> VecDot;
        public GgmlType VecDotType;
        public long RowCount;
    }

    [LibraryImport(LlamaCppLibrary.GgmlBase, EntryPoint = "ggml_get_type_traits")]
    public static partial TypeTraits* GetTypeTraits(GgmlType type);

    [LibraryImport(LlamaCppLibrary.GgmlCpu, EntryPoint = "ggml_get_type_traits_cpu")]
    public static partial TypeTraitsCpu* GetTypeTraitsCpu(GgmlType type);

    /// <summary>The type's name as ggml reports it.</summary>
    public static string TypeName(GgmlType type) => Marshal.PtrToStringUTF8((nint)GetTypeTraits(type)->TypeName)!;
}
