namespace Teredo.Hosting.Systemd;

/// <summary>
/// The packet loops' proof of life for systemd's watchdog: every packet thread passes through
/// <see cref="Beat"/> each time it comes back to wait for input (TunBatchReader, UdpBatch.Receive, at least
/// every read timeout when idle). A thread stuck in an engine, on a lock or in a system call stops beating,
/// and the watchdog then stops pinging, so systemd restarts the daemon. A thread that ended is forgotten:
/// packet threads end only at shutdown (an exception in one ends the whole process).
/// </summary>
public static class LoopLiveness
{
    private static readonly Lock Gate = new();
    private static readonly List<Slot> Slots = [];

    [ThreadStatic]
    private static Slot? t_slot;

    /// <summary>One volatile store per wake-up; the slot is made once per thread.</summary>
    public static void Beat()
    {
        var slot = t_slot ??= Register();
        Volatile.Write(ref slot.LastMs, Environment.TickCount64);
    }

    /// <summary>The names of the live threads that have not beaten within <paramref name="maxAgeMs"/> of <paramref name="nowMs"/>; empty when every one has.</summary>
    public static IReadOnlyList<string> Stale(long nowMs, long maxAgeMs)
    {
        var stale = new List<string>();
        lock (Gate)
        {
            Slots.RemoveAll(s => !s.Thread.IsAlive);
            foreach (var s in Slots)
            {
                if (nowMs - Volatile.Read(ref s.LastMs) > maxAgeMs) stale.Add(s.Thread.Name ?? $"thread {s.Thread.ManagedThreadId}");
            }
        }
        return stale;
    }

    private static Slot Register()
    {
        var slot = new Slot(Thread.CurrentThread);
        lock (Gate)
        {
            Slots.RemoveAll(s => !s.Thread.IsAlive);
            Slots.Add(slot);
        }
        return slot;
    }

    private sealed class Slot(Thread thread)
    {
        public readonly Thread Thread = thread;
        public long LastMs = Environment.TickCount64;
    }
}
