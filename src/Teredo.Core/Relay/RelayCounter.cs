using Teredo.Common;

namespace Teredo.Relay;

/// <summary>What happened to each packet the relay saw; <see cref="RelayCounters"/> keeps one number per value.</summary>
public enum RelayCounter
{
    // From the IPv6 side (TUN)
    TunReceived,
    TunDropMalformed,
    TunDropNotTeredo,
    TunDropSourceNotServed,
    /// <summary>The peer would need the indirect bubble, but the server embedded in its address is not global unicast.</summary>
    TunDropServerNotGlobal,
    /// <summary>A destination the relay has no entry for, over the new-peer rate: dropped before any table or bubble work.</summary>
    TunDropNewPeerRateLimited,
    SentToTrustedPeer,
    SentToConePeer,
    Queued,
    TunDropQueueFull,
    IndirectBubblesSent,
    DirectBubblesSent,
    /// <summary>A cone destination whose embedded mapping is not global unicast went the indirect-bubble path instead.</summary>
    ConeMappingNotGlobal,
    /// <summary>No direct bubble: the mapping it would go to is not global unicast (T(D) of the P2P plan, for one).</summary>
    DirectBubblesSkippedNotGlobal,
    PeersGivenUp,
    UnreachableSent,
    QueuedDroppedOnGiveUp,
    // From the IPv4 side (UDP)
    UdpReceived,
    UdpDropMalformed,
    UdpDropSourceNotTeredo,
    UdpDropMappingMismatch,
    /// <summary>A packet proved a mapping that is not global unicast; the relay never learns one, as it never sends to one.</summary>
    UdpDropSourceNotGlobal,
    MismatchAcceptedByNonce,
    BubblesReceived,
    QueueReleased,
    UdpDropDestinationNotServed,
    ForwardedToTun,
    // The last guard before every UDP send; the checks above keep it at zero.
    /// <summary>A send toward a non-global IPv4 address was refused at the socket's edge.</summary>
    SendRefusedNotGlobal,
}

public sealed class RelayCounters : CounterSet<RelayCounter>;
