using Teredo.Wire;

namespace Teredo.Hosting.Nat64;

/// <summary>
/// Multicast the kernel sends on any link it brings up (MLD reports with hop limit 1, IGMP) reaches the
/// TUN too. Handing it to the translator would earn the kernel an ICMPv6 Time Exceeded for a multicast
/// destination, which RFC 4443 §2.4 (e.3) forbids, and stateless translation has no mapping for group
/// addresses anyway; so it is dropped before translation and counted.
/// </summary>
public static class MulticastFilter
{
    public static bool IsMulticast(ReadOnlySpan<byte> packet) => IpVersion.Of(packet) switch
    {
        IpVersion.V6 => Ipv6Packet.TryParseQuoted(packet, out var ip6) && ip6.Destination.IsMulticast,
        // 224.0.0.0/4, and the limited broadcast 255.255.255.255 (also inside 240/4's top)
        IpVersion.V4 => Ipv4Packet.TryParseQuoted(packet, out var ip4) && (ip4.Destination.Value >> 28 == 0xE || ip4.Destination.Value == uint.MaxValue),
        _ => false,
    };
}
