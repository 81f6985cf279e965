using Teredo.Common;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

public enum NatCounter
{
    MappingsCreated,
    MappingsExpired,
    /// <summary>The table was full: the least recently used mapping made room.</summary>
    MappingsEvicted,
    /// <summary>Dropped by <see cref="NatBox.Remap"/> or <see cref="NatBox.Flush"/>.</summary>
    MappingsDropped,
    Outbound,
    InboundAccepted,
    /// <summary>Nothing is mapped at that public port (never was, expired, or remapped).</summary>
    InboundNoMapping,
    /// <summary>A mapping exists but its filter refuses the sender (RFC 4787 §5).</summary>
    InboundFiltered,
}

public sealed class NatCounters : CounterSet<NatCounter>;

/// <summary>
/// One NAT box with one public address, modelled from RFC 4787's definitions rather than from any
/// implementation: the mapping rule and the filtering rule of its <see cref="NatKind"/>, a mapping (and
/// each filter permission) expires after <see cref="MappingTimeoutMs"/> without traffic in either
/// direction (Linux conntrack refreshes on both), the table holds at most <see cref="Capacity"/> mappings
/// (the least recently used gives way), and public ports are handed out in sequence, so that a mapping
/// made again after <see cref="Remap"/> or <see cref="Flush"/> gets another port, as a NAT that lost its
/// state while another flow took the old port does.
/// </summary>
public sealed class NatBox
{
    private sealed class Mapping(Ipv4Endpoint inside, Ipv4Endpoint remote, ushort publicPort, long nowMs)
    {
        public Ipv4Endpoint Inside { get; } = inside;
        /// <summary>The destination the mapping was made for (symmetric NAT only; default otherwise).</summary>
        public Ipv4Endpoint Remote { get; } = remote;
        public ushort PublicPort { get; } = publicPort;
        public long LastUsedMs { get; set; } = nowMs;
        /// <summary>Who may send in (remote endpoint, or remote address with port 0), with when each was last used.</summary>
        public Dictionary<Ipv4Endpoint, long> Permissions { get; } = [];
    }

    private readonly Dictionary<(Ipv4Endpoint Inside, Ipv4Endpoint Remote), Mapping> _byFlow = [];
    private readonly Dictionary<ushort, Mapping> _byPort = [];
    private readonly ushort _firstPort;
    private ushort _nextPort;

    public NatBox(NatKind kind, Ipv4Address publicAddress, long mappingTimeoutMs = 120_000, int capacity = 1024, ushort firstPort = 40000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mappingTimeoutMs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 65536 - firstPort);
        Kind = kind;
        PublicAddress = publicAddress;
        MappingTimeoutMs = mappingTimeoutMs;
        Capacity = capacity;
        _firstPort = _nextPort = firstPort;
    }

    public NatKind Kind { get; }
    public Ipv4Address PublicAddress { get; }
    public long MappingTimeoutMs { get; }
    public int Capacity { get; }
    public NatCounters Counters { get; } = new();
    public int Count => _byPort.Count;

    /// <summary>A datagram from <paramref name="inside"/> to <paramref name="remote"/> passes: the public endpoint it leaves from.</summary>
    public Ipv4Endpoint Outbound(long nowMs, Ipv4Endpoint inside, Ipv4Endpoint remote)
    {
        Counters.Increment(NatCounter.Outbound);
        var key = (inside, Kind.MapsPerDestination() ? remote : default);
        if (!_byFlow.TryGetValue(key, out var mapping) || Expired(mapping, nowMs))
        {
            if (mapping is not null) Drop(mapping, NatCounter.MappingsExpired);
            if (_byPort.Count >= Capacity) Drop(LeastRecentlyUsed(), NatCounter.MappingsEvicted);
            mapping = new Mapping(inside, key.Item2, AllocatePort(), nowMs);
            _byFlow[key] = mapping;
            _byPort[mapping.PublicPort] = mapping;
            Counters.Increment(NatCounter.MappingsCreated);
        }
        mapping.LastUsedMs = nowMs;
        if (Kind.Filtering() != NatFiltering.EndpointIndependent) mapping.Permissions[PermissionKey(remote)] = nowMs;
        return new Ipv4Endpoint(PublicAddress, mapping.PublicPort);
    }

    /// <summary>A datagram from <paramref name="remote"/> to our public <paramref name="publicPort"/>: whether it gets in, and to whom.</summary>
    public bool TryInbound(long nowMs, Ipv4Endpoint remote, ushort publicPort, out Ipv4Endpoint inside)
    {
        inside = default;
        if (!_byPort.TryGetValue(publicPort, out var mapping) || Expired(mapping, nowMs))
        {
            if (mapping is not null) Drop(mapping, NatCounter.MappingsExpired);
            Counters.Increment(NatCounter.InboundNoMapping);
            return false;
        }
        if (Kind.Filtering() != NatFiltering.EndpointIndependent)
        {
            var permission = PermissionKey(remote);
            if (!mapping.Permissions.TryGetValue(permission, out long lastMs) || nowMs - lastMs >= MappingTimeoutMs)
            {
                Counters.Increment(NatCounter.InboundFiltered);
                return false;
            }
            mapping.Permissions[permission] = nowMs;
        }
        mapping.LastUsedMs = nowMs;
        inside = mapping.Inside;
        Counters.Increment(NatCounter.InboundAccepted);
        return true;
    }

    /// <summary>The public endpoint <paramref name="inside"/> currently has toward <paramref name="remote"/>, if any (for assertions).</summary>
    public bool TryGetMapping(Ipv4Endpoint inside, Ipv4Endpoint remote, out Ipv4Endpoint external)
    {
        bool found = _byFlow.TryGetValue((inside, Kind.MapsPerDestination() ? remote : default), out var mapping);
        external = found ? new Ipv4Endpoint(PublicAddress, mapping!.PublicPort) : default;
        return found;
    }

    /// <summary>The NAT forgets every mapping of the inside host <paramref name="insideHost"/>; its next datagrams get new ports.</summary>
    public void Remap(Ipv4Address insideHost)
    {
        foreach (var mapping in _byPort.Values.ToArray())
            if (mapping.Inside.Address == insideHost) Drop(mapping, NatCounter.MappingsDropped);
    }

    /// <summary>The NAT forgets everything (a reboot, conntrack -F).</summary>
    public void Flush()
    {
        foreach (var mapping in _byPort.Values.ToArray()) Drop(mapping, NatCounter.MappingsDropped);
    }

    private bool Expired(Mapping mapping, long nowMs) => nowMs - mapping.LastUsedMs >= MappingTimeoutMs;

    private Ipv4Endpoint PermissionKey(Ipv4Endpoint remote) =>
        Kind.Filtering() == NatFiltering.AddressDependent ? remote with { Port = 0 } : remote;

    private void Drop(Mapping mapping, NatCounter reason)
    {
        _byFlow.Remove((mapping.Inside, mapping.Remote));
        _byPort.Remove(mapping.PublicPort);
        Counters.Increment(reason);
    }

    private Mapping LeastRecentlyUsed()
    {
        Mapping? oldest = null;
        foreach (var mapping in _byPort.Values)
            if (oldest is null || mapping.LastUsedMs < oldest.LastUsedMs) oldest = mapping;
        return oldest!;
    }

    /// <summary>The next free port after the last one handed out, wrapping within [first port, 65535].</summary>
    private ushort AllocatePort()
    {
        while (true)
        {
            ushort port = _nextPort;
            _nextPort = port == ushort.MaxValue ? _firstPort : (ushort)(port + 1);
            if (!_byPort.ContainsKey(port)) return port;
        }
    }
}
