namespace Teredo.Tests.Support;

public static class Allocations
{
    /// <summary>
    /// Bytes the calling thread allocates running <paramref name="exchange"/>(<paramref name="measured"/>),
    /// after a first run of <paramref name="warmup"/> (type loading and static constructors allocate once).
    /// The least of three measurements: an allocation per call shows in every one (as at least
    /// <paramref name="measured"/> bytes), while a one-off by the runtime on this thread, seen on a loaded
    /// CI machine as a single 4 KiB block, does not repeat.
    /// </summary>
    public static long Measure(Action<int> exchange, int warmup = 50_000, int measured = 10_000)
    {
        exchange(warmup);
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3 && least != 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            exchange(measured);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
