using System.Runtime.InteropServices;

namespace ModelGen.LlamaCpp;

/// <summary>
/// A model loaded by llama.cpp with an inference context: the reference our engine's logits are compared with,
/// and the baseline in benchmarks. Not thread-safe.
/// </summary>
public sealed unsafe partial class LlamaContext : IDisposable
{
    private nint _model;
    private nint _context;
    private readonly nint _vocab;

    private LlamaContext(nint model, nint context)
    {
        _model = model;
        _context = context;
        _vocab = LlamaNative.ModelGetVocab(model);
        VocabularySize = LlamaNative.VocabTokenCount(_vocab);
    }

    /// <summary>Loads <paramref name="path"/> on the CPU with an F16 KV cache of <paramref name="contextLength"/> positions.</summary>
    /// <param name="path">The GGUF file.</param>
    /// <param name="contextLength">KV cache positions.</param>
    /// <param name="threads">Threads for decode and batch processing.</param>
    /// <param name="flashAttention">Whether to use flash attention; ModelGen computes attention as the non-flash path does.</param>
    /// <param name="batchSize">Most tokens one <see cref="Decode"/> takes.</param>
    /// <param name="repackWeights">Whether the CPU backend may repack weights into its interleaved GEMM layouts
    /// (llama.cpp's default, "extra buffer types").</param>
    public static LlamaContext Load(string path, int contextLength = 512, int threads = 2, bool flashAttention = false, int batchSize = 512,
        bool repackWeights = true)
    {
        LlamaCppLibrary.EnsureLoaded();
        LlamaNative.SilenceLogging();
        LlamaNative.BackendInit();
        var modelParams = LlamaNative.ModelDefaultParams();
        modelParams.UseExtraBufferTypes = (byte)(repackWeights ? 1 : 0);
        nint model = LlamaNative.ModelLoadFromFile(path, modelParams);
        if (model == 0)
        {
            throw new InvalidOperationException($"llama.cpp could not load {path}");
        }

        var p = llama_context_default_params();
        p.ContextLength = (uint)contextLength;
        p.BatchSize = p.MicroBatchSize = (uint)batchSize;
        p.Threads = p.BatchThreads = threads;
        p.FlashAttention = flashAttention ? 1 : 0;
        p.NoPerf = 0;
        nint context = llama_init_from_model(model, p);
        if (context == 0)
        {
            LlamaNative.ModelFree(model);
            throw new InvalidOperationException($"llama.cpp could not create a context for {path}");
        }

        return new LlamaContext(model, context);
    }

    public int VocabularySize { get; }

    /// <summary>Empties the KV cache, so the next <see cref="Decode"/> starts a new sequence at position 0.</summary>
    public void Clear() => llama_memory_clear(llama_get_memory(_context), 1);

    /// <summary>
    /// Decodes <paramref name="tokens"/> at positions <paramref name="position"/>... in sequence 0 and returns the
    /// logits of every token when <paramref name="allLogits"/>, else of the last: [rows × vocabulary].
    /// </summary>
    public float[] Decode(ReadOnlySpan<int> tokens, int position, bool allLogits = true)
    {
        int n = tokens.Length;
        var positions = new int[n];
        var seqCounts = new int[n];
        var outputs = new sbyte[n];
        int seqZero = 0;
        var seqIds = new nint[n];
        for (int i = 0; i < n; i++)
        {
            positions[i] = position + i;
            seqCounts[i] = 1;
            outputs[i] = (sbyte)(allLogits || i == n - 1 ? 1 : 0);
        }

        fixed (int* tokenPtr = tokens)
        fixed (int* posPtr = positions)
        fixed (int* countPtr = seqCounts)
        fixed (sbyte* outPtr = outputs)
        fixed (nint* seqPtr = seqIds)
        {
            for (int i = 0; i < n; i++)
            {
                seqIds[i] = (nint)(&seqZero);
            }

            var batch = new Batch { TokenCount = n, Tokens = tokenPtr, Positions = posPtr, SeqIdCounts = countPtr, SeqIds = (int**)seqPtr, Outputs = outPtr };
            int status = llama_decode(_context, batch);
            if (status != 0)
            {
                throw new InvalidOperationException($"llama_decode failed with {status}");
            }
        }

        int rows = allLogits ? n : 1;
        var logits = new float[(long)rows * VocabularySize];
        for (int r = 0; r < rows; r++)
        {
            float* row = llama_get_logits_ith(_context, allLogits ? r : n - 1);
            new ReadOnlySpan<float>(row, VocabularySize).CopyTo(logits.AsSpan(r * VocabularySize));
        }

        return logits;
    }

    public void Dispose()
    {
        if (_context != 0)
        {
            llama_free(_context);
            _context = 0;
        }

        if (_model != 0)
        {
            LlamaNative.ModelFree(_model);
            _model = 0;
        }
    }

    /// <summary><c>struct llama_context_params</c> from llama.h (160 bytes on x86-64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ContextParams
    {
        public uint ContextLength, BatchSize, MicroBatchSize, MaxSequences, RecurrentSnapshots, MaxOutputs, MaxOutputsPerSequence;
        public int Threads, BatchThreads;
        public int ContextType, RopeScalingType, PoolingType, AttentionType, FlashAttention;
        public float RopeFrequencyBase, RopeFrequencyScale, YarnExtFactor, YarnAttentionFactor, YarnBetaFast, YarnBetaSlow;
        public uint YarnOriginalContext;
        public float DefragThreshold;
        public nint EvalCallback, EvalCallbackData;
        public int KeyType, ValueType;
        public nint AbortCallback, AbortCallbackData;
        public byte Embeddings, OffloadKqv, NoPerf, OpOffload, SwaFull, KvUnified;
        public nint Samplers;
        public nuint SamplerCount;
        public nint OtherContext;
    }

    /// <summary><c>struct llama_batch</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Batch
    {
        public int TokenCount;
        public int* Tokens;
        public float* Embeddings;
        public int* Positions;
        public int* SeqIdCounts;
        public int** SeqIds;
        public sbyte* Outputs;
    }

    [LibraryImport(LlamaCppLibrary.Llama)] internal static partial ContextParams llama_context_default_params();
    [LibraryImport(LlamaCppLibrary.Llama)] private static partial nint llama_init_from_model(nint model, ContextParams parameters);
    [LibraryImport(LlamaCppLibrary.Llama)] private static partial void llama_free(nint context);
    [LibraryImport(LlamaCppLibrary.Llama)] private static partial int llama_decode(nint context, Batch batch);
    [LibraryImport(LlamaCppLibrary.Llama)] private static partial float* llama_get_logits_ith(nint context, int i);
    [LibraryImport(LlamaCppLibrary.Llama)] private static partial nint llama_get_memory(nint context);
    [LibraryImport(LlamaCppLibrary.Llama)] private static partial void llama_memory_clear(nint memory, byte data);
}
