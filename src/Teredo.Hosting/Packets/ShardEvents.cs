using System.Collections.Concurrent;
using Teredo.Engines;

namespace Teredo.Hosting.Packets;

/// <summary>
/// A shard's events on their way from the engine to the role's handler: <see cref="Drain"/> moves them
/// out of the engine under the shard's lock (nothing allocated when there are none), <see cref="Dispatch"/>
/// hands them to the handler off the packet path, oldest first. Bounded: past the capacity they are
/// dropped and counted, so a stuck handler cannot grow memory.
/// </summary>
internal abstract class ShardEvents
{
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

    protected void CountDropped() => Interlocked.Increment(ref _dropped);

    /// <summary>Under the shard's lock, after every engine call. True when an event was queued.</summary>
    public abstract bool Drain();

    /// <summary>Runs the handler for every queued event, in order; outside any lock. Returns how many ran.</summary>
    public abstract int Dispatch();
}

internal sealed class ShardEvents<TEvent>(IPacketEngine<TEvent> engine, Action<TEvent> handler, int capacity) : ShardEvents
{
    private readonly ConcurrentQueue<TEvent> _queue = new();
    private int _count;
    // One dispatcher at a time, so that two threads never run the handler out of order.
    private readonly Lock _dispatching = new();

    public override bool Drain()
    {
        bool queued = false;
        while (engine.TryTakeEvent(out var e))
        {
            if (Volatile.Read(ref _count) >= capacity)
            {
                CountDropped();
                continue;
            }
            _queue.Enqueue(e);
            Interlocked.Increment(ref _count);
            queued = true;
        }
        return queued;
    }

    public override int Dispatch()
    {
        int ran = 0;
        lock (_dispatching)
        {
            while (_queue.TryDequeue(out var e))
            {
                Interlocked.Decrement(ref _count);
                handler(e);
                ran++;
            }
        }
        return ran;
    }
}
