using Teredo.Net;

namespace Teredo.Nat64;

/// <summary>
/// Dynamic IPv4 leases for IPv6 hosts (tayga <c>dynamic-pool</c>). Bounded twice: by the pool's size and
/// by <c>capacity</c>. A new host takes a free address; when none is free the least recently used lease
/// that has expired is reclaimed, and if none has, the host gets nothing (the packet is dropped and
/// counted). Both dictionaries are sized up front so that a lookup or a lease never allocates.
/// Every operation takes one lock, so that translators on several threads (one per TUN queue) can share
/// the pool; uncontended, that costs a few nanoseconds per packet.
/// </summary>
internal sealed class DynamicPool
{
    private struct Lease
    {
        public Ipv6Address V6;
        public long LastUseMs;
        public bool Used;
    }

    private readonly Lease[] _leases;          // indexed by address offset within the pool
    private readonly Dictionary<Ipv6Address, uint> _byIpv6;
    private readonly uint _first;              // first leasable offset
    private readonly uint _last;               // last leasable offset
    private readonly uint _excluded;           // offset of TranslatorIpv4, or uint.MaxValue
    private readonly long _leaseMs;
    private readonly int _capacity;
    private uint _cursor;
    private readonly Lock _lock = new();

    public DynamicPool(Ipv4Address network, int length, Ipv4Address translator, long leaseMs, int capacity)
    {
        Network = new Ipv4Address(length == 0 ? 0 : network.Value & uint.MaxValue << (32 - length));
        Length = length;
        ulong size = 1UL << (32 - length);
        // Network and broadcast addresses are not hosts (a /31 or /32 has neither).
        _first = size > 2 ? 1u : 0u;
        _last = (uint)(size > 2 ? size - 2 : size - 1);
        _excluded = translator.IsIn(Network, length) ? translator.Value - Network.Value : uint.MaxValue;
        ulong leasable = _last - _first + 1 - (_excluded >= _first && _excluded <= _last ? 1u : 0u);
        _capacity = (int)Math.Min((ulong)capacity, leasable);
        _leases = new Lease[_last + 1];
        _byIpv6 = new Dictionary<Ipv6Address, uint>(_capacity);
        _leaseMs = leaseMs;
        _cursor = _first;
    }

    public Ipv4Address Network { get; }
    public int Length { get; }
    public int Count
    {
        get { lock (_lock) return _byIpv6.Count; }
    }

    public bool Changed { get; private set; }

    public bool TryFindByIpv6(Ipv6Address v6, out Ipv4Address v4)
    {
        lock (_lock)
        {
            if (_byIpv6.TryGetValue(v6, out uint offset))
            {
                v4 = new Ipv4Address(Network.Value + offset);
                return true;
            }
            v4 = default;
            return false;
        }
    }

    public bool TryFindByIpv4(long nowMs, Ipv4Address v4, bool touch, out Ipv6Address v6)
    {
        lock (_lock)
        {
            uint offset = v4.Value - Network.Value;
            if (offset < _leases.Length && _leases[offset].Used)
            {
                ref var lease = ref _leases[offset];
                if (touch && nowMs > lease.LastUseMs) lease.LastUseMs = nowMs;
                v6 = lease.V6;
                return true;
            }
            v6 = default;
            return false;
        }
    }

    /// <summary>The lease of <paramref name="v6"/>, refreshed, or a new one.</summary>
    public bool TryLeaseFor(long nowMs, Ipv6Address v6, out Ipv4Address v4)
    {
        lock (_lock)
        {
            if (_byIpv6.TryGetValue(v6, out uint offset))
            {
                ref var lease = ref _leases[offset];
                if (nowMs > lease.LastUseMs) lease.LastUseMs = nowMs;
                v4 = new Ipv4Address(Network.Value + offset);
                return true;
            }
            if (!TryFreeOffset(nowMs, out offset))
            {
                v4 = default;
                return false;
            }
            Take(offset, v6, nowMs);
            v4 = new Ipv4Address(Network.Value + offset);
            return true;
        }
    }

    private bool TryFreeOffset(long nowMs, out uint offset)
    {
        if (_byIpv6.Count < _capacity)
        {
            // Round-robin from the cursor so a released address is not handed straight to the next host.
            uint span = _last - _first + 1;
            for (uint i = 0; i < span; i++)
            {
                uint candidate = _first + (_cursor - _first + i) % span;
                if (candidate == _excluded || _leases[candidate].Used) continue;
                _cursor = candidate + 1 > _last ? _first : candidate + 1;
                offset = candidate;
                return true;
            }
        }
        // Full: reclaim the least recently used lease if it has expired.
        long oldest = long.MaxValue;
        offset = 0;
        for (uint i = _first; i <= _last; i++)
            if (_leases[i].Used && _leases[i].LastUseMs < oldest)
            {
                oldest = _leases[i].LastUseMs;
                offset = i;
            }
        if (oldest == long.MaxValue || nowMs - oldest < _leaseMs) return false;
        Release(offset);
        return true;
    }

    private void Take(uint offset, Ipv6Address v6, long lastUseMs)
    {
        _leases[offset] = new Lease { V6 = v6, LastUseMs = lastUseMs, Used = true };
        _byIpv6[v6] = offset;
        Changed = true;
    }

    private void Release(uint offset)
    {
        _byIpv6.Remove(_leases[offset].V6);
        _leases[offset] = default;
        Changed = true;
    }

    public IReadOnlyList<DynamicMapping> Export(long nowMs)
    {
        lock (_lock)
        {
            var list = new List<DynamicMapping>(_byIpv6.Count);
            for (uint i = _first; i <= _last; i++)
            {
                if (!_leases[i].Used) continue;
                if (nowMs - _leases[i].LastUseMs >= _leaseMs)
                {
                    Release(i);
                    continue;
                }
                list.Add(new DynamicMapping(new Ipv4Address(Network.Value + i), _leases[i].V6, _leases[i].LastUseMs));
            }
            Changed = false;
            return list;
        }
    }

    /// <summary>Restores saved leases; expired ones, ones outside the pool and conflicting ones are skipped.</summary>
    public void Import(IEnumerable<DynamicMapping> entries, long nowMs)
    {
        lock (_lock)
        {
            foreach (var e in entries)
            {
                if (!e.V4.IsIn(Network, Length) || nowMs - e.LastUseMs >= _leaseMs) continue;
                uint offset = e.V4.Value - Network.Value;
                if (offset < _first || offset > _last || offset == _excluded) continue;
                if (_leases[offset].Used || _byIpv6.ContainsKey(e.V6) || _byIpv6.Count >= _capacity) continue;
                Take(offset, e.V6, Math.Min(e.LastUseMs, nowMs));
            }
            Changed = false;
        }
    }
}
