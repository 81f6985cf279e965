using Teredo.Common;

namespace Teredo.Client;

/// <summary>
/// What happened in the client, one number per value. Every datagram counted in <see cref="UdpReceived"/>
/// ends in exactly one of <see cref="ClientCounters.UdpOutcomes"/>, and every packet counted in
/// <see cref="TunReceived"/> in exactly one of <see cref="ClientCounters.TunOutcomes"/>; the rest count
/// what the client sent and decided on its own.
/// </summary>
public enum ClientCounter
{
    // ---- UDP side: received, then exactly one outcome ----
    UdpReceived,
    UdpDropMalformed,
    UdpDropNotQualified,
    UdpDropWrongDestination,
    UdpDropNeighborDiscovery,
    RouterAdvertisementAccepted,
    RouterAdvertisementUnexpected,
    RouterAdvertisementInvalid,
    RouterAdvertisementWrongPrefix,
    RouterAdvertisementBadNonce,
    RouterAdvertisementBadAuthentication,
    IndirectBubbleAnswered,
    IndirectBubbleRateLimited,
    IndirectBubbleOriginNotGlobal,
    ServerBubbleIgnored,
    DeliveredFromServer,
    DeliveredFromTrustedPeer,
    DeliveredFromTeredoPeer,
    DeliveredFromLocalPeer,
    DeliveredUnverified,
    BubbleFromPeer,
    EchoTestAnswered,
    NonceBubbleAccepted,
    UdpDropUnverifiedBubble,
    DiscoveryBubbleAccepted,
    DiscoveryBubbleDropped,
    RefreshProbeReceived,
    SecondaryPortDropped,
    ProbePortDropped,

    // ---- TUN side: received, then exactly one outcome ----
    TunReceived,
    TunDropMalformed,
    TunDropNotQualified,
    TunDropSourceNotOurs,
    TunDropNotUnicast,
    /// <summary>The peer would need the indirect bubble, but the server embedded in its address is not global unicast.</summary>
    TunDropServerNotGlobal,
    TunDropBubbleLimit,
    TunDropQueueFull,
    SentToTrustedPeer,
    SentToConePeer,
    Queued,

    // ---- what the client sent or decided ----
    RouterSolicitationsSent,
    DirectBubblesSent,
    /// <summary>No direct bubble: the mapping it would go to is not global unicast (T(D) of the P2P plan, for one).</summary>
    DirectBubblesSkippedNotGlobal,
    /// <summary>A cone destination whose embedded mapping is not global unicast went the bubble path (case 5) instead.</summary>
    ConeMappingNotGlobal,
    /// <summary>A packet from a non-global source that is not a local peer: never learned as a mapping, at most delivered unverified.</summary>
    SourceNotGlobalNotLearned,
    /// <summary>A send to a peer at a non-global IPv4 address (other than a local peer's) refused at the edge; the checks keep it at zero.</summary>
    SendRefusedNotGlobal,
    IndirectBubblesSent,
    LocalBubblesSent,
    DiscoveryBubblesSent,
    EchoTestsSent,
    RefreshBubblesSent,
    QueueReleased,
    PeersGivenUp,
    UnreachableSent,
    QueuedDroppedOnGiveUp,
    AddressChanges,
    ServerLosses,
    KeyRenewalRequests,
    EventsDropped,
}

/// <summary>Counters of one engine (<see cref="CounterSet{TCounter}"/>), with the two outcome groups that must add up.</summary>
public sealed class ClientCounters : CounterSet<ClientCounter>
{
    /// <summary>The outcomes of a received datagram, one of which each <see cref="ClientCounter.UdpReceived"/> ends in.</summary>
    public static IReadOnlyList<ClientCounter> UdpOutcomes { get; } = Range(ClientCounter.UdpDropMalformed, ClientCounter.ProbePortDropped);

    /// <summary>The outcomes of a packet from the TUN, one of which each <see cref="ClientCounter.TunReceived"/> ends in.</summary>
    public static IReadOnlyList<ClientCounter> TunOutcomes { get; } = Range(ClientCounter.TunDropMalformed, ClientCounter.Queued);

    public long UdpOutcomeSum => Sum(UdpOutcomes);
    public long TunOutcomeSum => Sum(TunOutcomes);

    private long Sum(IReadOnlyList<ClientCounter> counters)
    {
        long sum = 0;
        for (int i = 0; i < counters.Count; i++) sum += this[counters[i]];
        return sum;
    }

    private static ClientCounter[] Range(ClientCounter first, ClientCounter last)
    {
        var result = new ClientCounter[last - first + 1];
        for (int i = 0; i < result.Length; i++) result[i] = first + i;
        return result;
    }
}
