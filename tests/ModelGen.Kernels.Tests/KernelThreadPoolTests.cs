using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ModelGen.Kernels.Threading;

namespace ModelGen.Kernels.Tests;

public class KernelThreadPoolTests
{
    /// <summary>Generous: a hang is the failure these bounds catch, not slowness. Exceeding it throws <see cref="TimeoutException"/>.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 100, 7)]
    [InlineData(2, 1, 1)]
    [InlineData(2, 2, 1)]
    [InlineData(2, 37, 1)]
    [InlineData(2, 37, 4)]
    [InlineData(2, 1000, 16)]
    [InlineData(3, 5, 1)]
    [InlineData(3, 101, 3)]
    [InlineData(3, 4096, 1)]
    [InlineData(4, 99, 100)]
    public void For_runs_every_item_once_in_ranges_aligned_to_the_grain(int threads, int count, int grain)
    {
        using var pool = new KernelThreadPool(threads);
        for (int repeat = 0; repeat < 3; repeat++)
        {
            var body = new RecordRanges(count);
            pool.For(count, grain, body);

            Assert.All(body.Visits, visits => Assert.Equal(1, visits));
            Assert.All(body.Ranges, range =>
            {
                Assert.Equal(0, range.Start % grain);
                Assert.True(range.End - range.Start >= grain || range.End == count, $"range {range} is shorter than the grain");
            });
        }
    }

    [Fact]
    public void One_thread_runs_everything_on_the_caller()
    {
        using var pool = new KernelThreadPool(1);
        var body = new RecordRanges(1000);
        pool.For(1000, 1, body);

        Assert.Equal(1, pool.ThreadCount);
        Assert.Equal(new[] { Environment.CurrentManagedThreadId }, body.Threads.Keys);
        Assert.Single(body.Ranges);
    }

    [Fact]
    public void Default_thread_count_is_the_processor_count()
    {
        using var pool = new KernelThreadPool();
        Assert.Equal(Environment.ProcessorCount, pool.ThreadCount);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(39)]
    public void An_exception_in_any_range_reaches_the_caller_and_the_pool_stays_usable(int throwingItem)
    {
        using var pool = new KernelThreadPool(2);
        var error = new InvalidDataException("range failed");
        for (int repeat = 0; repeat < 20; repeat++)
        {
            var thrown = Assert.Throws<InvalidDataException>(() => pool.For(40, 1, new ThrowAt(throwingItem, error)));
            Assert.Same(error, thrown);

            var body = new RecordRanges(40);
            pool.For(40, 1, body);
            Assert.All(body.Visits, visits => Assert.Equal(1, visits));
        }
    }

    [Fact]
    public async Task Calling_the_pool_from_inside_a_body_throws_instead_of_deadlocking()
    {
        using var pool = new KernelThreadPool(2);
        await Task.Run(() => Assert.Throws<InvalidOperationException>(() => pool.For(8, 1, new Nested(pool)))).WaitAsync(Timeout);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_single_chunk_call_is_refused_while_another_call_runs(int threads)
    {
        // Items 0 and 1 in one grain are one chunk on any pool: the path that runs the body on the caller alone.
        using var pool = new KernelThreadPool(threads);
        var second = new CallFromAnotherThread(pool, new StrongBox<Exception?>(), new long[1]);
        await Task.Run(() => pool.For(1, 1, second)).WaitAsync(Timeout);

        Assert.IsType<InvalidOperationException>(second.Error.Value);
        Assert.Contains("one call at a time", second.Error.Value.Message);
        Assert.Equal(0, second.Sum[0]);

        // Refusing the second caller leaves the pool usable, on both paths: 0 + 1, then 0 + 1 + 2.
        pool.For(2, 2, new AddRange(second.Sum));
        Assert.Equal(1, second.Sum[0]);
        pool.For(3, 1, new AddRange(second.Sum));
        Assert.Equal(4, second.Sum[0]);
    }

    [Fact]
    public async Task A_single_chunk_call_from_inside_a_body_throws()
    {
        using var pool = new KernelThreadPool(1);
        await Task.Run(() => Assert.Throws<InvalidOperationException>(() => pool.For(1, 1, new NestedSingleChunk(pool)))).WaitAsync(Timeout);
    }

    [Theory]
    [InlineData(2, 100)]
    [InlineData(3, 100)]
    [InlineData(2, 0)]
    [InlineData(3, 0)]
    public async Task Many_small_calls_complete(int threads, int spinMicroseconds)
    {
        // Without spinning, workers block between calls: this exercises the sleep and wake-up handshake.
        using var pool = new KernelThreadPool(threads, TimeSpan.FromMicroseconds(spinMicroseconds));
        var sums = new long[1];
        await Task.Run(() =>
        {
            for (int call = 0; call < 20_000; call++)
            {
                pool.For(threads + 1, 1, new AddRange(sums));
            }
        }).WaitAsync(Timeout);

        Assert.Equal(20_000L * threads * (threads + 1) / 2, sums[0]);
    }

    [Fact]
    public void Dispose_stops_and_joins_the_workers()
    {
        var pool = new KernelThreadPool(3, TimeSpan.FromSeconds(1));
        var body = new RecordRanges(64, TimeSpan.FromMilliseconds(1));
        for (int call = 0; call < 100 && body.Threads.Count < 3; call++)
        {
            pool.For(64, 1, body);
        }

        var workers = body.Threads.Values.Where(t => t != Thread.CurrentThread).ToList();
        Assert.Equal(2, workers.Count);

        pool.Dispose();
        Assert.All(workers, worker => Assert.False(worker.IsAlive));
        Assert.Throws<ObjectDisposedException>(() => pool.For(2, 1, body));
        pool.Dispose();
    }

    private readonly struct RecordRanges(int count, TimeSpan delay = default) : IRangeBody
    {
        public int[] Visits { get; } = new int[count];

        public ConcurrentBag<(int Start, int End)> Ranges { get; } = [];

        public ConcurrentDictionary<int, Thread> Threads { get; } = new();

        public void Execute(int start, int end)
        {
            Threads.TryAdd(Environment.CurrentManagedThreadId, Thread.CurrentThread);
            Ranges.Add((start, end));
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref Visits[i]);
            }

            if (delay > TimeSpan.Zero)
            {
                Thread.Sleep(delay);
            }
        }
    }

    private readonly struct ThrowAt(int item, Exception error) : IRangeBody
    {
        public void Execute(int start, int end)
        {
            if (start <= item && item < end)
            {
                throw error;
            }
        }
    }

    private readonly struct Nested(KernelThreadPool pool) : IRangeBody
    {
        public void Execute(int start, int end) => pool.For(8, 1, new AddRange(new long[1]));
    }

    private readonly struct NestedSingleChunk(KernelThreadPool pool) : IRangeBody
    {
        public void Execute(int start, int end) => pool.For(1, 1, new AddRange(new long[1]));
    }

    /// <summary>While this body runs, another thread calls the pool with one item and records what it threw.</summary>
    private readonly struct CallFromAnotherThread(KernelThreadPool pool, StrongBox<Exception?> error, long[] sum) : IRangeBody
    {
        public StrongBox<Exception?> Error => error;

        public long[] Sum => sum;

        public void Execute(int start, int end)
        {
            var (secondPool, body, thrown) = (pool, new AddRange(sum), error);
            var other = new Thread(() =>
            {
                try
                {
                    secondPool.For(2, 2, body);
                }
                catch (Exception e)
                {
                    thrown.Value = e;
                }
            });
            other.Start();
            other.Join();
        }
    }

    private readonly struct AddRange(long[] sum) : IRangeBody
    {
        public void Execute(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                Interlocked.Add(ref sum[0], i);
            }
        }
    }
}
