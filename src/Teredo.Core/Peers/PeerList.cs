using System.Buffers;
using Teredo.Net;

namespace Teredo.Peers;

/// <summary>
/// The list of recent peers with the bounds an outsider cannot push past: at most
/// <see cref="Capacity"/> entries (the least recently used is evicted, queue and all), at most
/// <see cref="MaxQueuedPerPeer"/> packets per entry and <see cref="MaxQueuedBytes"/> bytes in all
/// queues. Evicted entries are reused, so a flood of new destinations allocates nothing once the
/// list is full. Not thread-safe: one list per engine.
/// </summary>
public sealed class PeerList
{
    private readonly Dictionary<Ipv6Address, Peer> _map;
    private readonly List<Peer> _pending = [];
    private Peer? _newest;
    private Peer? _oldest;

    public PeerList(int capacity = 65536, int maxQueuedPerPeer = 16, int maxQueuedBytes = 4 << 20)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        MaxQueuedPerPeer = maxQueuedPerPeer;
        MaxQueuedBytes = maxQueuedBytes;
        _map = new Dictionary<Ipv6Address, Peer>(Math.Min(capacity, 1 << 16));
    }

    public int Capacity { get; }
    public int MaxQueuedPerPeer { get; }
    public int MaxQueuedBytes { get; }
    public int Count => _map.Count;
    public int QueuedBytes { get; private set; }
    public long Evictions { get; private set; }

    /// <summary>Entries waiting for a bubble answer, for the timer to walk without scanning the whole list.</summary>
    public IReadOnlyList<Peer> Pending => _pending;

    public Peer? Find(Ipv6Address address) => _map.GetValueOrDefault(address);

    /// <summary>The entry for <paramref name="address"/>, created (evicting the oldest when full) if absent.</summary>
    public Peer GetOrAdd(Ipv6Address address, long nowMs, out bool created)
    {
        if (_map.TryGetValue(address, out var peer))
        {
            created = false;
            return peer;
        }
        created = true;
        if (_map.Count >= Capacity)
        {
            peer = _oldest!;
            Remove(peer);
            Evictions++;
        }
        else
        {
            peer = new Peer();
        }
        peer.Reset(address, nowMs);
        _map.Add(address, peer);
        LinkNewest(peer);
        return peer;
    }

    /// <summary>Marks the entry most recently used (on every packet sent to or received from it).</summary>
    public void Touch(Peer peer)
    {
        if (_newest == peer) return;
        Unlink(peer);
        LinkNewest(peer);
    }

    public void Remove(Peer peer)
    {
        if (!_map.Remove(peer.Address)) return;
        Unlink(peer);
        SetPending(peer, false);
        DropQueue(peer);
    }

    public void SetPending(Peer peer, bool pending)
    {
        if (pending == peer.PendingIndex >= 0) return;
        if (pending)
        {
            peer.PendingIndex = _pending.Count;
            _pending.Add(peer);
            return;
        }
        // Swap-remove keeps this O(1).
        int i = peer.PendingIndex;
        var last = _pending[^1];
        _pending[i] = last;
        last.PendingIndex = i;
        _pending.RemoveAt(_pending.Count - 1);
        peer.PendingIndex = -1;
    }

    /// <summary>Queues a copy of <paramref name="packet"/>; false (and nothing kept) when a bound is reached.</summary>
    public bool TryEnqueue(Peer peer, ReadOnlySpan<byte> packet)
    {
        if (peer.Queue.Count >= MaxQueuedPerPeer || QueuedBytes + packet.Length > MaxQueuedBytes) return false;
        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(buffer);
        peer.Queue.Enqueue(new QueuedPacket(buffer, packet.Length));
        peer.QueuedBytes += packet.Length;
        QueuedBytes += packet.Length;
        return true;
    }

    /// <summary>Takes the oldest queued packet; the caller gives it back with <see cref="Release"/>.</summary>
    public bool TryDequeue(Peer peer, out QueuedPacket packet)
    {
        if (!peer.Queue.TryDequeue(out packet)) return false;
        peer.QueuedBytes -= packet.Length;
        QueuedBytes -= packet.Length;
        return true;
    }

    public static void Release(QueuedPacket packet) => ArrayPool<byte>.Shared.Return(packet.Buffer);

    private void DropQueue(Peer peer)
    {
        while (TryDequeue(peer, out var p)) Release(p);
    }

    public IEnumerable<Peer> NewestFirst()
    {
        for (var p = _newest; p is not null; p = p.Older) yield return p;
    }

    private void LinkNewest(Peer peer)
    {
        peer.Older = _newest;
        peer.Newer = null;
        if (_newest is not null) _newest.Newer = peer;
        _newest = peer;
        _oldest ??= peer;
    }

    private void Unlink(Peer peer)
    {
        if (peer.Newer is not null) peer.Newer.Older = peer.Older; else _newest = peer.Older;
        if (peer.Older is not null) peer.Older.Newer = peer.Newer; else _oldest = peer.Newer;
        peer.Newer = peer.Older = null;
    }
}
