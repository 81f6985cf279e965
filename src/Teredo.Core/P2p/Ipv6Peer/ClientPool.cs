using System.Runtime.InteropServices;
using Teredo.Net;

namespace Teredo.P2p.Ipv6Peer;

/// <summary>One client's pool address and when it was last used (both directions refresh it).</summary>
public readonly record struct PoolMapping(Ipv6Address Client, Ipv6Address Pooled, long CreatedMs, long LastUseMs);

/// <summary>
/// The NAT66 pool: client C ↔ pool address P(C), one to one. The table is sized once (the pool's size or
/// <see cref="Ipv6PeerOptions.MaxMappings"/>, whichever is smaller) so a packet never allocates; a full
/// pool refuses new clients rather than evicting one in use. An idle mapping is released and its address
/// goes to the back of a FIFO free queue, so an address is handed out again as late as possible and
/// never while a client still uses it.
/// </summary>
public sealed class ClientPool
{
    private struct Slot
    {
        public Ipv6Address Client;
        public long CreatedMs;
        public long LastUseMs;
        public bool InUse;
    }

    private readonly UInt128 _base;
    private readonly int _poolLength;
    private readonly Slot[] _slots;
    private readonly Dictionary<Ipv6Address, int> _byClient;
    private readonly int[] _free;
    private int _freeHead;
    private int _freeCount;

    public ClientPool(Ipv6Address pool, int poolLength, int capacity, long idleTimeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _base = pool.Value + Ipv6PeerOptions.FirstClientOffset;
        Pool = pool;
        _poolLength = poolLength;
        IdleTimeoutMs = idleTimeoutMs;
        _slots = new Slot[capacity];
        _byClient = new Dictionary<Ipv6Address, int>(capacity);
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++) _free[i] = i;
        _freeCount = capacity;
    }

    public Ipv6Address Pool { get; }
    public long IdleTimeoutMs { get; }
    public int Capacity => _slots.Length;
    public int Count => _byClient.Count;

    /// <summary>P(C), creating the mapping when C has none; false when every address is in use.</summary>
    public bool TryMap(long nowMs, Ipv6Address client, out Ipv6Address pooled, out bool created)
    {
        created = false;
        ref int index = ref CollectionsMarshal.GetValueRefOrNullRef(_byClient, client);
        if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref index))
        {
            _slots[index].LastUseMs = nowMs;
            pooled = Address(index);
            return true;
        }
        if (_freeCount == 0)
        {
            pooled = default;
            return false;
        }
        int slot = _free[_freeHead];
        _freeHead = (_freeHead + 1) % _free.Length;
        _freeCount--;
        _slots[slot] = new Slot { Client = client, CreatedMs = nowMs, LastUseMs = nowMs, InUse = true };
        _byClient.Add(client, slot);
        pooled = Address(slot);
        created = true;
        return true;
    }

    /// <summary>The client behind pool address <paramref name="pooled"/>, refreshing the mapping; false when it maps no one.</summary>
    public bool TryFindClient(long nowMs, Ipv6Address pooled, out Ipv6Address client)
    {
        client = default;
        if (!pooled.IsIn(Pool, _poolLength) || pooled.Value < _base) return false;
        UInt128 offset = pooled.Value - _base;
        if (offset >= (ulong)_slots.Length) return false;
        ref Slot slot = ref _slots[(int)offset];
        if (!slot.InUse) return false;
        slot.LastUseMs = nowMs;
        client = slot.Client;
        return true;
    }

    /// <summary>Releases mappings idle for the timeout; returns how many.</summary>
    public int Expire(long nowMs)
    {
        int released = 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            ref Slot slot = ref _slots[i];
            if (!slot.InUse || nowMs - slot.LastUseMs < IdleTimeoutMs) continue;
            _byClient.Remove(slot.Client);
            slot = default;
            _free[(_freeHead + _freeCount) % _free.Length] = i;
            _freeCount++;
            released++;
        }
        return released;
    }

    /// <summary>The mappings in use, for status views (allocates; not for the packet path).</summary>
    public List<PoolMapping> Snapshot()
    {
        var list = new List<PoolMapping>(_byClient.Count);
        foreach (var (client, index) in _byClient)
            list.Add(new PoolMapping(client, Address(index), _slots[index].CreatedMs, _slots[index].LastUseMs));
        return list;
    }

    private Ipv6Address Address(int index) => new(_base + (uint)index);
}
