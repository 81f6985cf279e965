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
    TunDropMappedNotGlobal,
    SentToTrustedPeer,
    SentToConePeer,
    Queued,
    TunDropQueueFull,
    IndirectBubblesSent,
    DirectBubblesSent,
    PeersGivenUp,
    UnreachableSent,
    QueuedDroppedOnGiveUp,
    // From the IPv4 side (UDP)
    UdpReceived,
    UdpDropMalformed,
    UdpDropSourceNotTeredo,
    UdpDropMappingMismatch,
    MismatchAcceptedByNonce,
    BubblesReceived,
    QueueReleased,
    UdpDropDestinationNotServed,
    ForwardedToTun,
}

public sealed class RelayCounters : CounterSet<RelayCounter>;
