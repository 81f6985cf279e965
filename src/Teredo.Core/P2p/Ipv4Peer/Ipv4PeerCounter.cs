using Teredo.Common;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>What happened to each datagram, TUN packet and control notice the IPv4 peer's engine saw.</summary>
public enum Ipv4PeerCounter
{
    // UDP from relays
    UdpReceived,
    UdpMalformed,
    UdpBubbleReceived,
    /// <summary>Teredo-encapsulated IPv6 for an address this peer does not hold (neither a lease nor its static address).</summary>
    UdpNotHeld,
    /// <summary>Before the first welcome there is no translator yet.</summary>
    UdpNoTranslator,
    UdpSourceRateLimited,
    UdpBandwidthLimited,
    UdpTranslated,

    // IPv4 from the TUN
    TunReceived,
    TunNotIpv4,
    TunNoTranslator,
    TunBandwidthLimited,
    TunTranslated,
    /// <summary>A reply for an IPv6 host no relay was heard from (expired or never seen).</summary>
    TunNoRelay,
    /// <summary>A translated reply whose source is not an address this peer holds (its lease ended meanwhile).</summary>
    TunSourceNotHeld,

    // Translator output routing
    ToTun,
    ToRelay,
    /// <summary>An ICMPv6 error the translator originated, re-sourced from the address it answers for so the relay accepts it.</summary>
    ErrorsResourced,
    /// <summary>
    /// An ICMPv4 error from a router beyond this peer (traceroute's time exceeded), translated with source
    /// T(router), which no relay maps to us: re-sourced from the T(D) the quoted packet was sent to.
    /// </summary>
    RouterErrorsResourced,

    // Control
    BubblesSent,
    BubbleNotificationNotHeld,
    LeasesGranted,
    LeasesRenewed,
    LeasesEnded,
    LeasesExpiredLocally,
    /// <summary>A lease the peer will not carry (its own address, its pool, another coordinator, or over its bound).</summary>
    LeasesRefused,
    RelayRoutesEvicted,
    RelayRoutesExpired,
}

public sealed class Ipv4PeerCounters : CounterSet<Ipv4PeerCounter>;
