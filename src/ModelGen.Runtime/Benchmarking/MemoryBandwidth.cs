using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using ModelGen.Kernels.Threading;

namespace ModelGen.Runtime.Benchmarking;

/// <summary>Measures DRAM read bandwidth: the ceiling of decode speed, which streams every weight once per token.</summary>
public static class MemoryBandwidth
{
    /// <summary>Best of <paramref name="repetitions"/> streaming reads of a buffer far larger than the caches, in bytes per second.</summary>
    public static unsafe double MeasureRead(KernelThreadPool pool, long bytes = 512L << 20, int repetitions = 5)
    {
        var buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            new Span<byte>(buffer, int.MaxValue < bytes ? int.MaxValue : (int)bytes).Fill(1);
            var body = new ReadBody(buffer, bytes / pool.ThreadCount / 64 * 64);
            double best = 0;
            for (int r = 0; r < repetitions; r++)
            {
                long start = Stopwatch.GetTimestamp();
                pool.For(pool.ThreadCount, 1, body);
                best = Math.Max(best, body.Slice * pool.ThreadCount / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private readonly unsafe struct ReadBody(byte* buffer, long slice) : IRangeBody
    {
        public long Slice => slice;

        public void Execute(int start, int end)
        {
            for (int t = start; t < end; t++)
            {
                var sum = Vector<byte>.Zero;
                var p = (Vector<byte>*)(buffer + t * slice);
                long count = slice / Vector<byte>.Count;
                for (long i = 0; i < count; i += 4)
                {
                    sum ^= p[i] ^ p[i + 1] ^ p[i + 2] ^ p[i + 3];
                }

                // Keep the loads observable so they are not optimised away.
                if (sum == new Vector<byte>(0xAB))
                {
                    Console.Error.Write(' ');
                }
            }
        }
    }
}
