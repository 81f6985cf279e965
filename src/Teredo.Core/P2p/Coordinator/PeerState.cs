using Teredo.Net;

namespace Teredo.P2p.Coordinator;

/// <summary>A joined IPv4 peer as the coordinator sees it (read by status views under the host's lock).</summary>
public sealed class PeerState
{
    internal PeerState(long session, UInt128 identity, Ipv4Address localAddress, uint capacity, uint bandwidthKbps, int leaseLimit, long nowMs)
    {
        Session = session;
        Identity = identity;
        LocalAddress = localAddress;
        Capacity = capacity;
        BandwidthKbps = bandwidthKbps;
        LeaseLimit = leaseLimit;
        JoinedMs = nowMs;
        LastFrameMs = nowMs;
        LastKeepaliveMs = nowMs;
    }

    public long Session { get; }
    public UInt128 Identity { get; }
    public Ipv4Address LocalAddress { get; }
    public uint Capacity { get; }
    public uint BandwidthKbps { get; }
    /// <summary>min(capacity announced, the coordinator's per-peer bound).</summary>
    public int LeaseLimit { get; }
    public uint StaticSuffix { get; internal set; }
    public Ipv6Address StaticAddress { get; internal set; }
    public long JoinedMs { get; }
    public long LastFrameMs { get; internal set; }
    public long LastKeepaliveMs { get; internal set; }
    public long NotificationsSent { get; internal set; }
    /// <summary>Destinations (T(D)'s embedded IPv4) leased to this peer.</summary>
    internal HashSet<uint> Leases { get; } = [];
    public int LeaseCount => Leases.Count;
    internal int Index { get; set; }
    internal int ClassIndex { get; set; }

    public static string FormatIdentity(UInt128 identity) => identity.ToString("x32");
}

/// <summary>A dynamic T(D) bound to one peer.</summary>
public sealed class Lease
{
    public const int MaxRelays = 4;

    internal Lease(Ipv4Address destination, Ipv6Address address, PeerState owner, long nowMs)
    {
        Destination = destination;
        Address = address;
        Owner = owner;
        CreatedMs = nowMs;
    }

    public Ipv4Address Destination { get; }
    public Ipv6Address Address { get; }
    public PeerState Owner { get; internal set; }
    public long CreatedMs { get; }
    public long ExpiresMs { get; internal set; }
    public long LastUseMs { get; internal set; }
    /// <summary>Traffic was reported for it: it belongs to a real flow, and a flood cannot evict it.</summary>
    public bool Proven { get; internal set; }
    public long Bubbles { get; internal set; }
    internal LinkedListNode<Lease>? ProbationNode { get; set; }

    private readonly Control.RelaySighting[] _relays = new Control.RelaySighting[MaxRelays];
    private int _relayCount;
    private int _relayNext;

    public ReadOnlySpan<Control.RelaySighting> Relays => _relays.AsSpan(0, _relayCount);

    /// <summary>Remembers the relay (most recent <see cref="MaxRelays"/>) so a new owner can bubble it after a move.</summary>
    internal void SawRelay(Ipv4Endpoint relay, Ipv6Address bubbleSource)
    {
        var sighting = new Control.RelaySighting(relay, bubbleSource);
        for (int i = 0; i < _relayCount; i++)
            if (_relays[i] == sighting) return;
        _relays[_relayNext] = sighting;
        _relayNext = (_relayNext + 1) % MaxRelays;
        if (_relayCount < MaxRelays) _relayCount++;
    }
}
