using System.Runtime.InteropServices;

namespace ModelGen.LlamaCpp;

/// <summary>libllama entry points (model loading and the vocabulary API). Call <see cref="LlamaCppLibrary.EnsureLoaded"/> first.</summary>
public static unsafe partial class LlamaNative
{
    /// <summary><c>struct llama_model_params</c> from llama.h (80 bytes on x86-64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ModelParams
    {
        public nint Devices;
        public nint TensorBufferTypeOverrides;
        public int GpuLayerCount;
        public int SplitMode;
        public int LoadMode;
        public int LazyMode;
        public int MainGpu;
        public float* TensorSplit;
        public nint ProgressCallback;
        public nint ProgressCallbackUserData;
        public nint KvOverrides;

        // C bools, one byte each: kept as bytes so the struct stays blittable.
        public byte VocabOnly;
        public byte CheckTensors;
        public byte UseExtraBufferTypes;
        public byte NoHost;
        public byte NoAlloc;
        public byte LoadMtp;
    }

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_backend_init")]
    public static partial void BackendInit();

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_model_default_params")]
    public static partial ModelParams ModelDefaultParams();

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_model_load_from_file", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint ModelLoadFromFile(string path, ModelParams parameters);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_model_free")]
    public static partial void ModelFree(nint model);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_model_get_vocab")]
    public static partial nint ModelGetVocab(nint model);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_n_tokens")]
    public static partial int VocabTokenCount(nint vocab);

    /// <summary>
    /// <c>llama_tokenize</c>: the number of tokens written, or minus the number needed when
    /// <paramref name="maxTokens"/> is too small.
    /// </summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_tokenize")]
    public static partial int Tokenize(nint vocab, byte* text, int textLength, int* tokens, int maxTokens,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

    /// <summary><c>llama_token_to_piece</c>: bytes written, or minus the bytes needed.</summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_token_to_piece")]
    public static partial int TokenToPiece(nint vocab, int token, byte* buffer, int length, int lstrip,
        [MarshalAs(UnmanagedType.U1)] bool special);

    /// <summary><c>llama_detokenize</c>: bytes written, or minus the bytes needed.</summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_detokenize")]
    public static partial int Detokenize(nint vocab, int* tokens, int tokenCount, byte* text, int maxLength,
        [MarshalAs(UnmanagedType.U1)] bool removeSpecial, [MarshalAs(UnmanagedType.U1)] bool unparseSpecial);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_get_attr")]
    public static partial int VocabGetAttributes(nint vocab, int token);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_is_eog")]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool VocabIsEndOfGeneration(nint vocab, int token);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_bos")]
    public static partial int VocabBos(nint vocab);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_eos")]
    public static partial int VocabEos(nint vocab);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_eot")]
    public static partial int VocabEot(nint vocab);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_sep")]
    public static partial int VocabSeparator(nint vocab);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_pad")]
    public static partial int VocabPadding(nint vocab);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_get_add_bos")]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool VocabGetAddBos(nint vocab);

    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_vocab_get_add_eos")]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool VocabGetAddEos(nint vocab);

    /// <summary><c>struct llama_chat_message</c> from llama.h: a role and its content, NUL-terminated UTF-8.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ChatMessage
    {
        public byte* Role;
        public byte* Content;
    }

    /// <summary>
    /// <c>llama_chat_apply_template</c>: formats <paramref name="messages"/> with the built-in template that
    /// <paramref name="template"/> names or is recognised as (llama.cpp matches a Jinja template by its markers, it
    /// does not run it). Returns the formatted length, which may exceed <paramref name="length"/> (call again with a
    /// larger buffer), or a negative number when the template is not one it knows.
    /// </summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_chat_apply_template")]
    public static partial int ChatApplyTemplate(byte* template, ChatMessage* messages, nuint messageCount,
        [MarshalAs(UnmanagedType.U1)] bool addAssistant, byte* buffer, int length);

    /// <summary><c>llama_chat_builtin_templates</c>: writes up to <paramref name="length"/> names, returns how many there are.</summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_chat_builtin_templates")]
    public static partial int ChatBuiltinTemplates(byte** names, nuint length);

    /// <summary><c>llama_log_set</c>: routes llama's and ggml's log output (null callback: stderr).</summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "llama_log_set")]
    public static partial void LogSet(delegate* unmanaged<int, byte*, void*, void> callback, void* userData);

    /// <summary>
    /// llama.cpp's internal <c>unicode_cpt_flags_from_cpt</c> (exported as a C++ symbol): the category and
    /// whitespace flags its pre-tokenizers classify code points by, as the 16-bit <c>unicode_cpt_flags</c>.
    /// </summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "_Z26unicode_cpt_flags_from_cptj")]
    public static partial ushort UnicodeFlagsOf(uint codepoint);

    /// <summary>llama.cpp's internal <c>unicode_tolower</c> (exported as a C++ symbol).</summary>
    [LibraryImport(LlamaCppLibrary.Llama, EntryPoint = "_Z15unicode_tolowerj")]
    public static partial uint UnicodeToLower(uint codepoint);

    /// <summary>Silences llama's and ggml's logging (model loading prints a page per vocabulary).</summary>
    public static void SilenceLogging() => LogSet(&DiscardLog, null);

    [UnmanagedCallersOnly]
    private static void DiscardLog(int level, byte* text, void* userData)
    {
    }
}
