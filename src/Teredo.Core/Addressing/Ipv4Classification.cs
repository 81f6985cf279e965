using Teredo.Net;

namespace Teredo.Addressing;

/// <summary>
/// The "global unicast" test of RFC 4380 §5.2.4, exactly as listed there, for the Teredo roles. It
/// admits ranges that RFC 6890 marks special (198.18.0.0/15 among them, which the lab uses as its public
/// Internet); the NAT64 translator uses <see cref="SpecialPurposeIpv4"/> instead.
/// </summary>
public static class Ipv4Classification
{
    private static readonly (Ipv4Address Network, int Length)[] NotGlobal =
    [
        (new(0, 0, 0, 0), 8),        // "local" subnet
        (new(10, 0, 0, 0), 8),       // private
        (new(127, 0, 0, 0), 8),      // loopback
        (new(169, 254, 0, 0), 16),   // link local
        (new(172, 16, 0, 0), 12),    // private
        (new(192, 88, 99, 0), 24),   // 6to4 relay anycast
        (new(192, 168, 0, 0), 16),   // private
        (new(224, 0, 0, 0), 4),      // multicast
        (new(255, 255, 255, 255), 32), // limited broadcast
    ];

    /// <summary>
    /// True unless the address is in one of §5.2.4's ranges. Directed broadcast addresses of attached
    /// subnets depend on the host and are the hosting layer's to add.
    /// </summary>
    public static bool IsTeredoGlobalUnicast(Ipv4Address address)
    {
        foreach (var (network, length) in NotGlobal)
            if (address.IsIn(network, length)) return false;
        return true;
    }

    /// <summary>The private ranges of RFC 1918 (the static addresses of the P2P plan embed one).</summary>
    public static bool IsRfc1918(Ipv4Address address) =>
        address.IsIn(new(10, 0, 0, 0), 8) || address.IsIn(new(172, 16, 0, 0), 12) || address.IsIn(new(192, 168, 0, 0), 16);
}
