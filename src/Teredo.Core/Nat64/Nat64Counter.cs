using Teredo.Common;

namespace Teredo.Nat64;

/// <summary>
/// What happened to each packet the translator saw. Every input packet ends in exactly one outcome
/// (the values from <see cref="Translated6To4Tcp"/> to <see cref="Drop4TooBig"/>); the rest are events
/// counted beside the outcome (errors we sent, fragments we made).
/// </summary>
public enum Nat64Counter
{
    // Inputs
    Ipv6Received,
    Ipv4Received,

    // Outcomes of IPv6 → IPv4
    Translated6To4Tcp,
    Translated6To4Udp,
    Translated6To4IcmpEcho,
    Translated6To4IcmpError,
    Translated6To4Other,
    /// <summary>Sent straight back to IPv6 (RFC 7757 §4.2): the IPv4 destination is an IPv6 host behind us.</summary>
    Hairpinned,
    Drop6Malformed,
    Drop6HopLimitExceeded,
    Drop6RoutingHeader,
    Drop6HeaderAfterFragment,
    Drop6SourceUnmapped,
    Drop6DestinationUnmapped,
    Drop6DestinationProhibited,
    Drop6FragmentedIcmp,
    Drop6IcmpUntranslatable,
    Drop6IcmpErrorInnerUntranslatable,
    Drop6TooBig,
    /// <summary>A new IPv6 source found the dynamic pool full of unexpired leases.</summary>
    Drop6PoolExhausted,

    // Outcomes of IPv4 → IPv6
    Translated4To6Tcp,
    Translated4To6Udp,
    Translated4To6IcmpEcho,
    Translated4To6IcmpError,
    Translated4To6Other,
    Drop4Malformed,
    Drop4BadHeaderChecksum,
    Drop4TtlExceeded,
    Drop4SourceRoute,
    Drop4SourceUnmapped,
    Drop4DestinationUnmapped,
    Drop4FragmentedIcmp,
    Drop4IcmpUntranslatable,
    Drop4IcmpErrorInnerUntranslatable,
    Drop4UdpZeroChecksum,
    Drop4TooBig,

    // Events beside the outcome
    Icmpv6ErrorsSent,
    Icmpv4ErrorsSent,
    IcmpErrorsRateLimited,
    Ipv6FragmentsSent,
    UdpZeroChecksumCalculated,
    UdpZeroChecksumForwarded,
}

public sealed class Nat64Counters : CounterSet<Nat64Counter>
{
    /// <summary>True for the counters of which exactly one counts each input packet.</summary>
    public static bool IsOutcome(Nat64Counter counter) =>
        counter is >= Nat64Counter.Translated6To4Tcp and <= Nat64Counter.Drop4TooBig;

    /// <summary>Sum of the outcome counters: equals the inputs when the accounting is complete.</summary>
    public long OutcomeTotal
    {
        get
        {
            long total = 0;
            foreach (var c in All)
                if (IsOutcome(c)) total += this[c];
            return total;
        }
    }
}
