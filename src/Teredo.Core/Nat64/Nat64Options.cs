using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Nat64;

/// <summary>The translator's configuration: the tayga.conf(5) settings that shape translation.</summary>
public sealed class Nat64Options
{
    /// <summary>pool6 (tayga <c>prefix</c>): the RFC 6052 prefix IPv4 hosts appear under.</summary>
    public Ipv6Address Prefix { get; set; } = Ipv4EmbeddedIpv6.WellKnownPrefix;
    public int PrefixLength { get; set; } = 96;
    /// <summary>tayga <c>wkpf-strict</c>: 64:ff9b::/96 never carries a non-global IPv4 address (RFC 6052 §3.1).</summary>
    public bool WellKnownPrefixStrict { get; set; } = true;
    public UdpChecksumMode UdpChecksumMode { get; set; } = UdpChecksumMode.Drop;
    /// <summary>IPv6 path MTU beyond us (tayga <c>offlink-mtu</c>; 0 means 1280): IPv4 packets without DF are fragmented to fit it.</summary>
    public int OfflinkMtu { get; set; } = 1280;
    /// <summary>MTU of the IPv4 side: larger translated packets get an ICMPv6 Packet Too Big back.</summary>
    public int Ipv4Mtu { get; set; } = 1500;
    /// <summary>
    /// MTU of the IPv6 next hop (0: the same as <see cref="Ipv4Mtu"/>, one TUN carries both): an IPv4
    /// packet with DF set that translates to more gets Fragmentation Needed back (RFC 7915 §4.1).
    /// </summary>
    public int Ipv6Mtu { get; set; }
    /// <summary>tayga <c>ipv4-addr</c>: source of the ICMPv4 errors we originate, and of translated ICMPv6 errors from unmappable routers (RFC 6791).</summary>
    public Ipv4Address TranslatorIpv4 { get; set; }
    /// <summary>
    /// RFC 6791 source for translated ICMPv6 errors whose (router) source does not map; Any means
    /// <see cref="TranslatorIpv4"/> (Jool's pool6791).
    /// </summary>
    public Ipv4Address Rfc6791Ipv4 { get; set; }
    /// <summary>tayga <c>ipv6-addr</c>: source of the ICMPv6 errors we originate.</summary>
    public Ipv6Address TranslatorIpv6 { get; set; }
    /// <summary>Refuse IPv4 destinations that are not globally reachable (RFC 6890) with ICMPv6 administratively prohibited.</summary>
    public bool RefuseNonGlobalIpv4Destinations { get; set; }
    /// <summary>Exceptions to that refusal (e.g. 198.18.0.0/15 in the lab); read once when the translator is built.</summary>
    public IList<(Ipv4Address Network, int Length)> AllowedDestinations { get; set; } = new List<(Ipv4Address, int)>();
    /// <summary>Errors we originate per second (token bucket, burst of the same size); 0 = unlimited.</summary>
    public int IcmpErrorsPerSecond { get; set; } = 100;

    /// <summary>The IPv6 MTU used for fragmenting, with tayga's "0 means 1280".</summary>
    public int EffectiveOfflinkMtu => OfflinkMtu == 0 ? 1280 : OfflinkMtu;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (!Ipv4EmbeddedIpv6.IsValidPrefixLength(PrefixLength))
            throw new ArgumentException($"prefix length /{PrefixLength}: RFC 6052 allows /32, /40, /48, /56, /64 and /96", nameof(PrefixLength));
        if (PrefixLength != 96 && Prefix[8] != 0)
            throw new ArgumentException($"prefix {Prefix}/{PrefixLength}: bits 64-71 (the u octet) must be zero (RFC 6052 §2.2)", nameof(Prefix));
        UInt128 hostBits = PrefixLength == 128 ? UInt128.Zero : UInt128.MaxValue >> PrefixLength;
        if ((Prefix.Value & hostBits) != UInt128.Zero)
            throw new ArgumentException($"prefix {Prefix}/{PrefixLength} has bits set after its length", nameof(Prefix));
        if (OfflinkMtu != 0 && (OfflinkMtu < 1280 || OfflinkMtu > 65535))
            throw new ArgumentException($"offlink-mtu {OfflinkMtu}: must be 0 or 1280..65535", nameof(OfflinkMtu));
        if (Ipv4Mtu < 68 || Ipv4Mtu > 65535)
            throw new ArgumentException($"IPv4 MTU {Ipv4Mtu}: must be 68..65535", nameof(Ipv4Mtu));
        if (Ipv6Mtu != 0 && (Ipv6Mtu < 1280 || Ipv6Mtu > 65535))
            throw new ArgumentException($"IPv6 MTU {Ipv6Mtu}: must be 0 or 1280..65535", nameof(Ipv6Mtu));
        if (IcmpErrorsPerSecond < 0)
            throw new ArgumentException("ICMP errors per second cannot be negative", nameof(IcmpErrorsPerSecond));
        foreach (var (network, length) in AllowedDestinations)
            if (length is < 0 or > 32)
                throw new ArgumentException($"allowed destination {network}/{length}: bad length", nameof(AllowedDestinations));
    }
}
