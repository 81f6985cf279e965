using Teredo.Net;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>The relay an IPv6 source was last heard through, where its replies go.</summary>
public sealed class RelayRoute(Ipv6Address source, Ipv4Endpoint relay, long nowMs)
{
    public Ipv6Address Source { get; } = source;
    public Ipv4Endpoint Relay { get; internal set; } = relay;
    public long LastHeardMs { get; internal set; } = nowMs;
    public long PacketsIn { get; internal set; }
    public long PacketsOut { get; internal set; }
    internal LinkedListNode<RelayRoute>? Node;
}

/// <summary>
/// Bounded map from an IPv6 source to the relay its packets came through. Any relay can make this peer
/// learn a source, so the table is bounded: full, it forgets the least recently heard source (the list
/// is kept in hearing order, moving a node allocates nothing). Routes idle past a timeout are dropped on ticks.
/// </summary>
public sealed class RelayTable(int capacity, long idleMs)
{
    private readonly Dictionary<Ipv6Address, RelayRoute> _bySource = new(Math.Min(capacity, 1024));
    private readonly LinkedList<RelayRoute> _recency = new(); // most recently heard first

    public int Count => _bySource.Count;
    public int Capacity => capacity;
    public long Evictions { get; private set; }

    /// <summary>Records that <paramref name="source"/> was heard through <paramref name="relay"/>; true when an older route had to go.</summary>
    public bool Heard(long nowMs, Ipv6Address source, Ipv4Endpoint relay)
    {
        if (_bySource.TryGetValue(source, out var route))
        {
            route.Relay = relay;
            route.LastHeardMs = nowMs;
            route.PacketsIn++;
            if (route.Node != _recency.First)
            {
                _recency.Remove(route.Node!);
                _recency.AddFirst(route.Node!);
            }
            return false;
        }
        bool evicted = false;
        if (_bySource.Count >= capacity && _recency.Last is { } oldest)
        {
            Remove(oldest.Value);
            Evictions++;
            evicted = true;
        }
        route = new RelayRoute(source, relay, nowMs) { PacketsIn = 1 };
        route.Node = _recency.AddFirst(route);
        _bySource[source] = route;
        return evicted;
    }

    public bool TryGet(Ipv6Address source, out RelayRoute route) => _bySource.TryGetValue(source, out route!);

    /// <summary>Drops routes not heard for the idle time; returns how many.</summary>
    public int Expire(long nowMs)
    {
        int n = 0;
        while (_recency.Last is { } oldest && nowMs - oldest.Value.LastHeardMs > idleMs)
        {
            Remove(oldest.Value);
            n++;
        }
        return n;
    }

    public void Clear()
    {
        _bySource.Clear();
        _recency.Clear();
    }

    /// <summary>Most recently heard first (for status).</summary>
    public IEnumerable<RelayRoute> NewestFirst() => _recency;

    private void Remove(RelayRoute route)
    {
        _bySource.Remove(route.Source);
        _recency.Remove(route.Node!);
        route.Node = null;
    }
}
