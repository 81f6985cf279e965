using Teredo.Common;

namespace Teredo.P2p.Ipv6Peer;

/// <summary>What happened to each packet the IPv6 peer saw; <see cref="Ipv6PeerCounters"/> keeps one number per value.</summary>
public enum Ipv6PeerCounter
{
    Received,
    DropMalformed,
    /// <summary>Neither for the NAT64 prefix nor for the pool: the TUN's routes should not let it in.</summary>
    DropNotForUs,
    // Client → N::D
    DropSourceNotServed,
    DropBadEmbeddedAddress,
    DestinationNotGlobal,
    HopLimitExceeded,
    DropPoolExhausted,
    MappingsCreated,
    MappingsExpired,
    ForwardedToCoordinator,
    ClientIcmpErrorsForwarded,
    /// <summary>No coordinator was healthy: the destination went by the hash over all of them.</summary>
    NoHealthyCoordinator,
    /// <summary>The destination table was full: the destination went by the hash alone, without sticking.</summary>
    DestinationTableFull,
    // Pool ← 2001::/32
    DropPoolNotMapped,
    DropSourceNotCoordinator,
    ForwardedToClient,
    IcmpErrorsForwarded,
    DropIcmpErrorNotOurs,
    ProbeRepliesReceived,
    DropToOwnAddress,
    // Originated
    IcmpErrorsSent,
    IcmpErrorsRateLimited,
    ProbesSent,
    CoordinatorsDown,
    CoordinatorsUp,
    /// <summary>A UDP datagram handed to the engine, which has no socket: a host wiring error, never acted on.</summary>
    DropUnexpectedDatagram,
}

public sealed class Ipv6PeerCounters : CounterSet<Ipv6PeerCounter>;
