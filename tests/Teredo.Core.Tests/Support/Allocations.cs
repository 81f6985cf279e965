namespace Teredo.Tests.Support;

public static class Allocations
{
    /// <summary>
    /// Bytes the calling thread allocates running <paramref name="exchange"/>(10 000), after a first run of
    /// 50 000 to warm up (tiered compilation may allocate on the calling thread while it settles).
    /// </summary>
    public static long Measure(Action<int> exchange)
    {
        exchange(50_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        exchange(10_000);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
