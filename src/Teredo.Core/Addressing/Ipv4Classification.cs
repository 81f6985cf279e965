using Teredo.Net;

namespace Teredo.Addressing;

/// <summary>
/// The "global unicast" test of RFC 4380 §5.2.4, exactly as listed there, for the Teredo roles. It
/// admits ranges that RFC 6890 marks special (198.18.0.0/15 among them, which the lab uses as its public
/// Internet); the NAT64 translator uses <see cref="SpecialPurposeIpv4"/> instead.
/// </summary>
public static class Ipv4Classification
{
    /// <summary>
    /// True unless the address is in one of §5.2.4's ranges: 0.0.0.0/8 ("local"), 10.0.0.0/8,
    /// 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.88.99.0/24 (6to4 relay anycast), 192.168.0.0/16,
    /// 224.0.0.0/4 (multicast) and 255.255.255.255. Directed broadcast addresses of attached subnets
    /// depend on the host and are the hosting layer's to add. The relay and the client run it before
    /// every send to a peer, so it branches on the first octet instead of walking a table.
    /// </summary>
    public static bool IsTeredoGlobalUnicast(Ipv4Address address)
    {
        uint a = address.Value;
        return (a >> 24) switch
        {
            0 or 10 or 127 => false,
            169 => (a >> 16) != 0xA9FE,
            172 => (a >> 20) != 0xAC1,
            192 => (a >> 16) != 0xC0A8 && (a >> 8) != 0xC0_58_63,
            >= 224 and < 240 => false,
            255 => a != 0xFFFF_FFFF,
            _ => true,
        };
    }

    /// <summary>The private ranges of RFC 1918 (the static addresses of the P2P plan embed one).</summary>
    public static bool IsRfc1918(Ipv4Address address) =>
        address.IsIn(new(10, 0, 0, 0), 8) || address.IsIn(new(172, 16, 0, 0), 12) || address.IsIn(new(192, 168, 0, 0), 16);
}
