using LLama;
using LLama.Common;
using LLama.Native;
using ModelGen.Runtime.Benchmarking;

namespace ModelGen.Benchmarks;

/// <summary>
/// LLamaSharp, the library .NET users pick to run a GGUF, opened as <c>modelgen bench</c> opens llama.cpp: the same
/// context, batch and thread count, non-flash attention, and prefill and decode through one reused batch.
/// </summary>
/// <remarks>
/// LLamaSharp.Backend.Cpu brings a llama.cpp build of its own (here its avx512 variant), one of whose libraries has
/// the same soname as the pinned reference's (<c>libggml-base.so</c>). Loaded into one process after the pinned
/// build had decoded, both sets were mapped and LLamaSharp's logits were the same bits as alone; still, the two need
/// not share a process here: BenchmarkDotNet runs every case in a process of its own, and a case opens only its engine.
/// </remarks>
internal sealed class LLamaSharpEngine : IBenchmarkEngine
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();

    public LLamaSharpEngine(string path, int threads, int context)
    {
        var parameters = new ModelParams(path)
        {
            ContextSize = (uint)context,
            BatchSize = 512,
            UBatchSize = 512,
            Threads = threads,
            BatchThreads = threads,
            FlashAttention = false,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        VocabularySize = _weights.Vocab.Count;
    }

    public string Name => "LLamaSharp";

    public int VocabularySize { get; }

    public void Prefill(ReadOnlySpan<int> tokens)
    {
        _context.NativeHandle.MemoryClear(true);
        _batch.Clear();
        for (int i = 0; i < tokens.Length; i++)
        {
            _batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: i == tokens.Length - 1);
        }

        Decode();
    }

    public void Decode(int token, int position)
    {
        _batch.Clear();
        _batch.Add(token, position, LLamaSeqId.Zero, logits: true);
        Decode();
    }

    private void Decode()
    {
        if (_context.Decode(_batch) is var result and not DecodeResult.Ok)
        {
            throw new InvalidOperationException($"LLamaSharp: llama_decode failed with {result}");
        }
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
