using Teredo.Common;

namespace Teredo.Server;

/// <summary>Every way a datagram leaves the server engine: one counter each, so that they add up.</summary>
public enum ServerCounter
{
    Received,
    // Accepted outcomes
    RouterAdvertisementSent,
    ForwardedToClient,
    ForwardedToIpv6,
    EchoReplySent,
    // Drops, in the order §5.3.1 and §5.3.2 check them
    DropMalformed,
    DropNotBubbleOrIcmpv6,
    DropSourceNotGlobal,
    DropRouterSolicitationInvalid,
    DropAuthenticationMissing,
    DropAuthenticationFailed,
    DropSourceMismatch,
    DropDestinationNotGlobal,
    DropDestinationMappedNotGlobal,
    DropIpv6ForwardingDisabled,
    DropIpv6NotIcmpv6,
    DropHopLimitExceeded,
    DropUnhandledLocal,
    DropRateLimited,
    /// <summary>Not a datagram: a packet the host handed in from the send-only native IPv6 device (a host mistake).</summary>
    DevicePacketIgnored,
}

/// <summary>Counters of one server engine instance; the host sums instances for its status view.</summary>
public sealed class ServerCounters : CounterSet<ServerCounter>
{
    /// <summary>Every received datagram ends in exactly one outcome; this is their sum.</summary>
    public long Outcomes
    {
        get
        {
            long sum = 0;
            foreach (var c in All)
                if (c is not (ServerCounter.Received or ServerCounter.DevicePacketIgnored)) sum += this[c];
            return sum;
        }
    }
}
