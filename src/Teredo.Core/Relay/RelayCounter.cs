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

public sealed class RelayCounters
{
    private readonly long[] _values = new long[Enum.GetValues<RelayCounter>().Length];

    public long this[RelayCounter counter] => Volatile.Read(ref _values[(int)counter]);

    internal void Increment(RelayCounter counter) => _values[(int)counter]++;

    internal void Add(RelayCounter counter, long n) => _values[(int)counter] += n;

    public static IReadOnlyList<RelayCounter> All { get; } = Enum.GetValues<RelayCounter>();
}
