using System.Diagnostics;
using ModelGen.Runtime.Tokenization;

namespace ModelGen.Runtime.Generation;

/// <summary>
/// Generates for several requests at once over one model whose KV cache holds several sequences
/// (<see cref="IForwardPass.SequenceCount"/>): continuous batching. Each request is given a free sequence slot; then
/// every step runs one forward pass over the next token of every decoding sequence, plus as much of the waiting
/// prompts as the batch has room for, so that the weights are read once for all of them.
/// </summary>
/// <remarks>
/// <para>
/// Each request samples with its own sampler (seed, penalties) and ends at its own stop strings and limits, through the
/// same code as <see cref="TextGenerator"/>, so its greedy or seeded text is the one it would get alone. A request
/// leaves its slot as soon as it ends or is cancelled, before the next step; requests beyond the free slots wait in a
/// queue of <see cref="QueueCapacity"/>, past which <see cref="Submit"/> refuses them.
/// </para>
/// <para>
/// Decoding comes first in every batch and prompts fill the rest, a chunk at a time, so a long prompt delays the
/// running streams by at most one batch per step. A slot remembers the tokens its cache holds, and a new request goes
/// to the free slot whose cache shares the longest prefix with its prompt, running only what follows it.
/// </para>
/// <para>
/// The generator runs the model's forward pass on a thread of its own for as long as it lives: nothing else may use
/// the model meanwhile (its <see cref="TextGenerator"/> included).
/// </para>
/// </remarks>
public sealed class BatchGenerator : IDisposable
{
    private readonly IForwardPass _model;
    private readonly Tokenizer _tokenizer;
    private readonly Slot[] _slots;
    private readonly Thread _thread;

    /// <summary>Guards <see cref="_queue"/>, <see cref="_running"/> and <see cref="_disposed"/>; the scheduler waits on it when idle.</summary>
    private readonly object _lock = new();
    private readonly LinkedList<GenerationRequest> _queue = new();
    private int _running;
    private bool _disposed;

    // The batch, sized once for the model's largest.
    private readonly int[] _tokens;
    private readonly int[] _positions;
    private readonly int[] _sequences;
    private readonly bool[] _outputs;

    /// <summary>Per output row of the batch: the slot whose logits it is.</summary>
    private readonly Slot[] _outputSlots;

    /// <param name="model">The forward pass, with one sequence slot per request to serve at once.</param>
    /// <param name="tokenizer">The model's vocabulary, for streaming text and end-of-generation tokens.</param>
    /// <param name="queueCapacity">Requests that may wait for a slot when all are busy; 0 refuses them at once.</param>
    public BatchGenerator(IForwardPass model, Tokenizer tokenizer, int queueCapacity)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfNegative(queueCapacity);
        if (model.SequenceCount > model.MaxBatch)
        {
            throw new ArgumentException($"the model holds {model.SequenceCount} sequences but runs batches of {model.MaxBatch} tokens: a step must fit a token of each", nameof(model));
        }

        _model = model;
        _tokenizer = tokenizer;
        QueueCapacity = queueCapacity;
        _slots = new Slot[model.SequenceCount];
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot(i);
        }

        _tokens = new int[model.MaxBatch];
        _positions = new int[model.MaxBatch];
        _sequences = new int[model.MaxBatch];
        _outputs = new bool[model.MaxBatch];
        _outputSlots = new Slot[model.MaxBatch];
        _thread = new Thread(Run) { IsBackground = true, Name = "ModelGen batch generator" };
        _thread.Start();
    }

    /// <summary>Requests generated at once: the model's sequence slots.</summary>
    public int SlotCount => _slots.Length;

    /// <summary>Requests that may wait for a slot.</summary>
    public int QueueCapacity { get; }

    /// <summary>Requests holding a slot now.</summary>
    public int RunningCount
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Requests waiting for a slot now.</summary>
    public int QueuedCount
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public IForwardPass Model => _model;

    public Tokenizer Tokenizer => _tokenizer;

    /// <summary>
    /// Queues the continuation of <paramref name="prompt"/>; read it with <see cref="GenerationRequest.ReadAllAsync"/>.
    /// Cancelling <paramref name="cancellationToken"/> (a client that went away) cancels the request.
    /// </summary>
    /// <exception cref="ArgumentException">The prompt is empty.</exception>
    /// <exception cref="PromptTooLongException">The prompt leaves no room in the context for a generated token.</exception>
    /// <exception cref="GenerationQueueFullException">Every slot is busy and the queue is full.</exception>
    public GenerationRequest Submit(int[] prompt, GenerationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        if (prompt.Length == 0)
        {
            throw new ArgumentException("the prompt is empty: give some tokens to continue", nameof(prompt));
        }

        if (prompt.Length >= _model.ContextLength)
        {
            throw new PromptTooLongException(prompt.Length, _model.ContextLength);
        }

        if (options.MaxTokens < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokens, "MaxTokens must be -1 (until the context is full) or at least 0");
        }

        var request = new GenerationRequest(prompt, options, new GenerationStatistics(), Cancelled);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_queue.Count + _running >= _slots.Length + QueueCapacity)
            {
                throw new GenerationQueueFullException(_slots.Length, QueueCapacity);
            }

            _queue.AddLast(request);
            Monitor.Pulse(_lock);
        }

        options.Started?.Invoke(request.Statistics);
        request.CancelWith(cancellationToken);
        return request;
    }

    /// <summary>Streams the continuation of <paramref name="prompt"/>: <see cref="Submit"/>, then read it.</summary>
    public IAsyncEnumerable<string> GenerateAsync(int[] prompt, GenerationOptions options, CancellationToken cancellationToken = default) =>
        Submit(prompt, options).ReadAllAsync(cancellationToken);

    /// <summary>Stops the scheduler after its current step; requests not finished end with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Monitor.Pulse(_lock);
        }

        _thread.Join();
    }

    /// <summary>A cancelled request that is still queued leaves the queue at once; a running one is seen by the next step.</summary>
    private void Cancelled(GenerationRequest request)
    {
        bool dequeued;
        lock (_lock)
        {
            dequeued = _queue.Remove(request);
            Monitor.Pulse(_lock);
        }

        if (dequeued)
        {
            request.Statistics.StopReason = GenerationStopReason.Cancelled;
            request.Complete(new OperationCanceledException("the request was cancelled while it waited for a sequence slot"));
        }
    }

    private void Run()
    {
        while (true)
        {
            lock (_lock)
            {
                while (!_disposed && _queue.Count == 0 && _running == 0)
                {
                    Monitor.Wait(_lock);
                }

                if (_disposed)
                {
                    break;
                }

                Admit();
            }

            try
            {
                Step();
            }
            catch (Exception e)
            {
                // The forward pass failed: what the caches hold is unknown, and every running request ends with the error.
                foreach (var slot in _slots)
                {
                    slot.CachedLength = 0;
                    if (slot.Request is not null)
                    {
                        Finish(slot, e);
                    }
                }
            }
        }

        var disposed = new ObjectDisposedException(nameof(BatchGenerator), "the batch generator was disposed before the request finished");
        foreach (var slot in _slots)
        {
            if (slot.Request is not null)
            {
                Finish(slot, disposed);
            }
        }

        lock (_lock)
        {
            foreach (var request in _queue)
            {
                request.Complete(disposed);
            }

            _queue.Clear();
        }
    }

    /// <summary>Gives queued requests the free slots, in order, each the one whose cache shares most of its prompt.</summary>
    private void Admit()
    {
        while (_queue.First is { } first && _running < _slots.Length)
        {
            var request = first.Value;
            _queue.RemoveFirst();
            Slot? best = null;
            int bestShared = -1;
            foreach (var slot in _slots)
            {
                if (slot.Request is null && slot.SharedPrefix(request.Prompt) is var shared && shared > bestShared)
                {
                    (best, bestShared) = (slot, shared);
                }
            }

            var stats = request.Statistics;
            stats.CachedTokens = bestShared;
            stats.PromptTokens = request.Prompt.Length - bestShared;
            var continuation = new Continuation(request.Prompt, request.Options, _tokenizer, _model, stats);
            request.Continuation = continuation;
            request.PromptDone = bestShared;
            request.PhaseStarted = Stopwatch.GetTimestamp();
            // From the shared prefix on, the slot's cache is rewritten by this request: only what it completes is known.
            best!.Tokens = continuation.Tokens;
            best.CachedLength = bestShared;
            best.Request = request;
            _running++;
        }
    }

    /// <summary>Frees the slots of cancelled requests, runs one batch and hands each output row to its request.</summary>
    private void Step()
    {
        foreach (var slot in _slots)
        {
            if (slot.Request is { CancelRequested: true } request)
            {
                request.Statistics.StopReason = GenerationStopReason.Cancelled;
                Finish(slot, new OperationCanceledException("the request was cancelled"));
            }
        }

        int rows = 0, outputs = 0;
        // Decoding first: one token per sequence, so that streams advance every step whatever the prompts waiting.
        foreach (var slot in _slots)
        {
            if (slot.Request is { } request && request.PromptDone == request.Prompt.Length)
            {
                int position = request.Continuation!.Length - 1;
                AddRow(slot, request.Continuation.Tokens[position], position, output: true, ref rows, ref outputs);
            }
        }

        // Then prompts, as much as the batch has room for; a prompt's last token gives the logits of its first sample.
        foreach (var slot in _slots)
        {
            if (slot.Request is { } request && request.PromptDone < request.Prompt.Length && rows < _tokens.Length)
            {
                int start = request.PromptDone;
                int end = Math.Min(request.Prompt.Length, start + _tokens.Length - rows);
                for (int position = start; position < end; position++)
                {
                    AddRow(slot, request.Prompt[position], position, output: position == request.Prompt.Length - 1, ref rows, ref outputs);
                }

                request.PromptDone = end;
            }
        }

        if (rows == 0)
        {
            return;
        }

        var logits = _model.Forward(_tokens.AsSpan(0, rows), _positions.AsSpan(0, rows), _sequences.AsSpan(0, rows), _outputs.AsSpan(0, rows));
        for (int row = 0; row < rows; row++)
        {
            // Every sequence's cache now holds what this batch ran of it.
            var slot = _slots[_sequences[row]];
            slot.CachedLength = Math.Max(slot.CachedLength, _positions[row] + 1);
        }

        foreach (var slot in _slots)
        {
            if (slot.Request is { } request && request.PromptDone < request.Prompt.Length)
            {
                request.Options.PrefillProgress?.Report((request.PromptDone - request.Statistics.CachedTokens, request.Statistics.PromptTokens));
            }
        }

        int vocabulary = _model.VocabularySize;
        for (int output = 0; output < outputs; output++)
        {
            var slot = _outputSlots[output];
            var request = slot.Request!;
            var stats = request.Statistics;
            long now = Stopwatch.GetTimestamp();
            if (request.Continuation!.Length == request.Prompt.Length)
            {
                // The prompt's last token: prefill is done and decoding starts.
                request.Options.PrefillProgress?.Report((stats.PromptTokens, stats.PromptTokens));
                stats.PrefillTime = Stopwatch.GetElapsedTime(request.PhaseStarted, now);
                request.PhaseStarted = now;
            }
            else
            {
                stats.DecodedTokens++;
                stats.DecodeTime = Stopwatch.GetElapsedTime(request.PhaseStarted, now);
            }

            var (text, ended) = request.Continuation.Next(logits.Slice(output * vocabulary, vocabulary));
            request.Write(text);
            if (ended)
            {
                Finish(slot, error: null);
            }
        }
    }

    private void AddRow(Slot slot, int token, int position, bool output, ref int rows, ref int outputs)
    {
        _tokens[rows] = token;
        _positions[rows] = position;
        _sequences[rows] = slot.Index;
        _outputs[rows] = output;
        rows++;
        if (output)
        {
            _outputSlots[outputs++] = slot;
        }
    }

    /// <summary>Ends the slot's request and frees the slot; its cache keeps what completed, for a later prompt to share.</summary>
    private void Finish(Slot slot, Exception? error)
    {
        var request = slot.Request!;
        slot.Request = null;
        lock (_lock)
        {
            _running--;
        }

        request.Complete(error);
    }

    /// <summary>One sequence of the KV cache: the request it serves, if any, and the tokens its cache holds.</summary>
    private sealed class Slot(int index)
    {
        public int Index { get; } = index;

        public GenerationRequest? Request { get; set; }

        /// <summary>The tokens of the last request served here, from position 0; the cache holds <see cref="CachedLength"/> of them.</summary>
        public int[] Tokens { get; set; } = [];

        public int CachedLength { get; set; }

        /// <summary>
        /// Prompt tokens the cache already holds, at most all but the last (whose logits are needed).
        /// </summary>
        public int SharedPrefix(int[] prompt)
        {
            int limit = Math.Min(prompt.Length - 1, CachedLength);
            int shared = 0;
            while (shared < limit && prompt[shared] == Tokens[shared])
            {
                shared++;
            }

            return shared;
        }
    }
}
