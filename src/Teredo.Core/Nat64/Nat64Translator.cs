using Teredo.Common;

namespace Teredo.Nat64;

/// <summary>
/// The stateless IP/ICMP translator (RFC 7915, addresses per RFC 6052 and RFC 7757). Sans-I/O: the host
/// hands in one packet and the current time; translated packets and the ICMP errors we originate go to
/// the sink. Nothing is allocated per packet and nothing is thrown: every input ends in one counter.
/// </summary>
public sealed partial class Nat64Translator
{
    private readonly Nat64Options _options;

    public Nat64Translator(Nat64Options options, Nat64AddressMap map)
    {
        options.Validate();
        _options = options;
        Map = map;
    }

    public Nat64Counters Counters { get; } = new();
    public Nat64AddressMap Map { get; }

    /// <summary>IPv6 in → IPv4 out (or an ICMPv6 error back).</summary>
    public void FromIpv6(long nowMs, ReadOnlySpan<byte> packet, ITranslationSink sink)
    {
        Counters.Increment(Nat64Counter.Ipv6Received);
        Counters.Increment(Nat64Counter.Drop6Other);
    }

    /// <summary>IPv4 in → IPv6 out (possibly several fragments, or an ICMPv4 error back).</summary>
    public void FromIpv4(long nowMs, ReadOnlySpan<byte> packet, ITranslationSink sink)
    {
        Counters.Increment(Nat64Counter.Ipv4Received);
        Counters.Increment(Nat64Counter.Drop4Other);
    }
}
