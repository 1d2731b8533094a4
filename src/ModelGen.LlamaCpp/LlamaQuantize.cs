using System.Runtime.InteropServices;

namespace ModelGen.LlamaCpp;

/// <summary>libllama's model quantizer (what the llama-quantize tool calls). Call <see cref="LlamaCppLibrary.EnsureLoaded"/> first.</summary>
public static unsafe partial class LlamaQuantize
{
    /// <summary><c>struct llama_model_quantize_params</c> from llama.h (64 bytes on x86-64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Params
    {
        /// <summary>Threads; 0 or less for all cores.</summary>
        public int ThreadCount;

        /// <summary><c>enum llama_ftype</c>.</summary>
        public uint FileType;

        /// <summary><c>enum ggml_type</c> of output.weight; <c>GGML_TYPE_COUNT</c> for the mix's choice.</summary>
        public uint OutputTensorType;

        /// <summary><c>enum ggml_type</c> of token_embd.weight; <c>GGML_TYPE_COUNT</c> for the mix's choice.</summary>
        public uint TokenEmbeddingType;

        // C bools, one byte each: kept as bytes so the struct stays blittable.
        public byte AllowRequantize;
        public byte QuantizeOutputTensor;
        public byte OnlyCopy;
        public byte Pure;
        public byte KeepSplit;
        public byte DryRun;

        public nint ImportanceMatrix;
        public nint KvOverrides;
        public nint TensorTypeOverrides;
        public nint PruneLayers;

        /// <summary>Bytes of rows kept in memory at once; 0 for the default (8 GiB).</summary>
        public nuint MaxBufferSize;
    }

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_model_quantize_default_params")]
    public static partial Params DefaultParams();

    /// <summary><c>llama_model_quantize</c>: 0 on success (errors are logged, not thrown).</summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_model_quantize", StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint Quantize(string input, string output, in Params parameters);
}
