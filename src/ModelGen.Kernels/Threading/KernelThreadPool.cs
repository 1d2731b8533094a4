using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace ModelGen.Kernels.Threading;

/// <summary>The work of a parallel loop: a struct whose <see cref="Execute"/> handles one contiguous range of items.</summary>
/// <remarks>
/// Each range runs on its own copy of the struct, so changes to its fields are lost; results go through the
/// pointers or arrays it holds, each range to its own part of them.
/// </remarks>
public interface IRangeBody
{
    /// <summary>Does items <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive).</summary>
    void Execute(int start, int end);
}

/// <summary>
/// A fixed set of worker threads for data-parallel kernels, built for calls that last microseconds (one matrix-vector
/// product per layer and token): a call allocates nothing, and the calling thread works too rather than waiting.
/// </summary>
/// <remarks>
/// <para>
/// A call cuts its items into contiguous chunks (a few per thread, so that a thread that starts late or is preempted
/// leaves its share to the others) and publishes them in one 64-bit word: generation, chunk count and the next
/// unclaimed chunk. Threads claim chunks with a compare-and-swap on that word. Job fields are written only between
/// calls, while no chunk is claimable, and a claim succeeds only on the exact word the claimant read; so a thread
/// that holds a claim reads the job of that claim, and a stale worker can neither claim nor run a chunk of a later
/// call. The caller waits only for claimed chunks to finish, never for workers to wake up.
/// </para>
/// <para>
/// Idle workers spin on the word for <see cref="SpinDuration"/> (back-to-back kernel calls then cost no wake-up),
/// then block until the next call. One caller at a time: the pool is not re-entrant and throws if used from two
/// threads at once or from inside a body, whether or not the call would be cut into chunks.
/// </para>
/// </remarks>
public sealed unsafe class KernelThreadPool : IDisposable
{
    /// <summary>Chunks per thread: enough to even out late starters, few enough to keep each chunk long.</summary>
    private const int ChunksPerThread = 4;

    /// <summary>Chunk counts and indices are 16-bit fields of <see cref="_work"/>.</summary>
    private const int MaxChunks = ushort.MaxValue;

    private readonly Thread[] _workers;
    private readonly object _sleepGate = new();
    private readonly long _spinTicks;

    /// <summary>Generation (bits 32-63), chunk count (16-31), next unclaimed chunk (0-15).</summary>
    private ulong _work;

    // The job: written by the caller only while no chunk is claimable, read by the holders of claims.
    private delegate*<void*, int, int, void> _execute;
    private void* _body;
    private int _itemCount;
    private int _chunkItems;

    /// <summary>Chunks of the current call not yet finished.</summary>
    private int _unfinishedChunks;

    private ExceptionDispatchInfo? _error;
    private int _sleepingWorkers;
    private int _callerActive;
    private volatile bool _disposed;

    /// <summary>Starts <paramref name="threadCount"/> - 1 workers; the calling thread is the last.</summary>
    /// <param name="threadCount">Threads a call uses, the caller's included; default <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="spinDuration">How long an idle worker polls for work before it blocks; default 100 microseconds.</param>
    public KernelThreadPool(int threadCount = 0, TimeSpan? spinDuration = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threadCount);
        ThreadCount = threadCount == 0 ? Environment.ProcessorCount : threadCount;
        SpinDuration = spinDuration ?? TimeSpan.FromMicroseconds(100);
        ArgumentOutOfRangeException.ThrowIfLessThan(SpinDuration, TimeSpan.Zero, nameof(spinDuration));
        _spinTicks = (long)(SpinDuration.TotalSeconds * Stopwatch.Frequency);

        _workers = new Thread[ThreadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop)
            {
                IsBackground = true,
                Name = $"ModelGen kernel worker {i + 1}",
            };
            _workers[i].Start();
        }
    }

    /// <summary>Threads a call uses, the caller's included.</summary>
    public int ThreadCount { get; }

    /// <summary>How long an idle worker polls for work before it blocks.</summary>
    public TimeSpan SpinDuration { get; }

    /// <summary>
    /// Runs <paramref name="body"/> over items 0 to <paramref name="count"/> - 1 in contiguous ranges on all threads,
    /// and returns when every range is done. Ranges start at multiples of <paramref name="grain"/> and are at least
    /// <paramref name="grain"/> items long (the last may be shorter): a tile size, or the least work worth a thread.
    /// </summary>
    /// <remarks>
    /// If a range throws, the ranges not yet started are skipped and the first exception is rethrown here once all
    /// running ones have finished.
    /// </remarks>
    public void For<TBody>(int count, int grain, in TBody body)
        where TBody : struct, IRangeBody
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(grain, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count == 0)
        {
            return;
        }

        int grains = (count - 1) / grain + 1;
        int chunks = ThreadCount == 1 ? 1 : Math.Min(Math.Min(grains, ThreadCount * ChunksPerThread), MaxChunks);

        // Checked before the single-chunk path too: its caller computes on the same buffers as any other caller of
        // this pool (a model's activations, its KV cache), so a second caller must be refused there as well.
        if (Interlocked.Exchange(ref _callerActive, 1) != 0)
        {
            throw new InvalidOperationException("KernelThreadPool runs one call at a time: it was called concurrently or from inside a body.");
        }

        // The body is shared through a pointer: a local on this frame stays put, and lives until every chunk is done.
        TBody shared = body;
        try
        {
            if (chunks == 1)
            {
                shared.Execute(0, count);
                return;
            }

            int chunkGrains = (grains - 1) / chunks + 1;
            _execute = &ExecuteBody<TBody>;
            _body = Unsafe.AsPointer(ref shared);
            _itemCount = count;
            _chunkItems = (int)Math.Min((long)chunkGrains * grain, count);
            int chunkCount = (count - 1) / _chunkItems + 1;
            _unfinishedChunks = chunkCount;
            _error = null;

            // A full fence: the job is visible before the word, and the word before the sleeper count is read.
            ulong generation = (_work >> 32) + 1;
            Interlocked.Exchange(ref _work, generation << 32 | (ulong)chunkCount << 16);
            if (Volatile.Read(ref _sleepingWorkers) > 0)
            {
                lock (_sleepGate)
                {
                    Monitor.PulseAll(_sleepGate);
                }
            }

            RunChunks();
            var spinner = default(SpinWait);
            while (Volatile.Read(ref _unfinishedChunks) > 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            _error?.Throw();
        }
        finally
        {
            _body = null;
            _error = null;
            Volatile.Write(ref _callerActive, 0);
        }
    }

    /// <summary>Stops and joins the workers. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_sleepGate)
        {
            Monitor.PulseAll(_sleepGate);
        }

        foreach (var worker in _workers)
        {
            worker.Join();
        }
    }

    /// <summary>
    /// Runs a range on a copy of the body in this thread's frame. Bodies reload their fields after every store
    /// through a pointer they hold, and the shared original sits on the caller's stack beside locals the caller
    /// writes while it waits: reading it in the loop would make every range share a cache line with that.
    /// </summary>
    private static void ExecuteBody<TBody>(void* body, int start, int end)
        where TBody : struct, IRangeBody
    {
        TBody local = Unsafe.AsRef<TBody>(body);
        local.Execute(start, end);
    }

    private static bool HasClaimableChunk(ulong work) => (ushort)work < (ushort)(work >> 16);

    /// <summary>Claims and runs chunks of the current call until none is left unclaimed.</summary>
    private void RunChunks()
    {
        while (true)
        {
            ulong work = Volatile.Read(ref _work);
            if (!HasClaimableChunk(work))
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _work, work + 1, work) != work)
            {
                continue;
            }

            // Claimed: the job cannot change until this chunk is counted finished.
            if (Volatile.Read(ref _error) is null)
            {
                int start = (ushort)work * _chunkItems;
                try
                {
                    _execute(_body, start, start + Math.Min(_chunkItems, _itemCount - start));
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                }
            }

            Interlocked.Decrement(ref _unfinishedChunks);
        }
    }

    private void WorkerLoop()
    {
        while (WaitForWork())
        {
            RunChunks();
        }
    }

    /// <summary>Spins, then blocks, until a chunk is claimable (true) or the pool is disposed (false).</summary>
    private bool WaitForWork()
    {
        long spinUntil = Stopwatch.GetTimestamp() + _spinTicks;
        do
        {
            if (HasClaimableChunk(Volatile.Read(ref _work)))
            {
                return true;
            }

            Thread.SpinWait(16);
        }
        while (!_disposed && Stopwatch.GetTimestamp() < spinUntil);

        lock (_sleepGate)
        {
            // Announce the sleep before the last look at the work word; a caller publishes before it reads the count,
            // and both are full fences, so either this thread sees the work or the caller sees the sleeper and pulses.
            Interlocked.Increment(ref _sleepingWorkers);
            while (!_disposed && !HasClaimableChunk(Volatile.Read(ref _work)))
            {
                Monitor.Wait(_sleepGate);
            }

            Interlocked.Decrement(ref _sleepingWorkers);
        }

        return !_disposed;
    }
}
