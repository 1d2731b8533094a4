using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// One request submitted to a <see cref="BatchGenerator"/>: its text as it is generated, its statistics, and a way to
/// cancel it.
/// </summary>
public sealed class GenerationRequest
{
    private readonly Channel<string> _pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Action _cancelled;
    private CancellationTokenRegistration _registration;
    private int _cancelRequested;

    /// <summary>Why the generation failed, thrown to the reader after the text before it (the channel would wrap it).</summary>
    private ExceptionDispatchInfo? _error;

    internal GenerationRequest(int[] prompt, GenerationOptions options, GenerationStatistics statistics, Action<GenerationRequest> cancelled)
    {
        Prompt = prompt;
        Options = options;
        Statistics = statistics;
        _cancelled = () => cancelled(this);
    }

    /// <summary>The prompt's tokens.</summary>
    public int[] Prompt { get; }

    public GenerationOptions Options { get; }

    /// <summary>Counts and timings, complete once <see cref="ReadAllAsync"/> has ended.</summary>
    public GenerationStatistics Statistics { get; }

    internal bool CancelRequested => Volatile.Read(ref _cancelRequested) != 0;

    /// <summary>Where the generation stands: set when it is given a slot.</summary>
    internal Continuation? Continuation { get; set; }

    /// <summary>Prompt tokens whose forward pass has run (or that the slot's cache held): the next to run is this one.</summary>
    internal int PromptDone { get; set; }

    /// <summary>When its prompt started running, or its decoding (<see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    internal long PhaseStarted { get; set; }

    /// <summary>
    /// Streams the generated text. Ending the enumeration early (disposing it) or cancelling
    /// <paramref name="cancellationToken"/> cancels the request and frees its slot, and the enumeration then throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public async IAsyncEnumerable<string> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.Register(Cancel);
        bool completed = false;
        try
        {
            var reader = _pieces.Reader;
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (reader.TryRead(out var piece))
                {
                    yield return piece;
                }
            }

            _error?.Throw();
            completed = true;
        }
        finally
        {
            if (!completed)
            {
                Cancel();
            }
        }
    }

    /// <summary>Cancels the request: a queued one leaves the queue, a running one frees its slot before the next batch.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _cancelRequested, 1) == 0)
        {
            _cancelled();
        }
    }

    internal void CancelWith(CancellationToken cancellationToken) => _registration = cancellationToken.Register(Cancel);

    internal void Write(string text)
    {
        if (text.Length > 0)
        {
            _pieces.Writer.TryWrite(text);
        }
    }

    /// <summary>Ends the stream: normally, or with <paramref name="error"/> (an <see cref="OperationCanceledException"/> when cancelled).</summary>
    internal void Complete(Exception? error = null)
    {
        // Unregister rather than Dispose: Dispose waits for a running callback, which may be waiting for the scheduler.
        _registration.Unregister();
        _error = error is null ? null : ExceptionDispatchInfo.Capture(error);
        _pieces.Writer.TryComplete();
    }
}
