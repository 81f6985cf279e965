namespace Teredo.Hosting.Nat64;

/// <summary>
/// Multicast the kernel sends on any link it brings up (MLD reports with hop limit 1, IGMP) reaches the
/// TUN too. Handing it to the translator would earn the kernel an ICMPv6 Time Exceeded for a multicast
/// destination, which RFC 4443 §2.4 (e.3) forbids, and stateless translation has no mapping for group
/// addresses anyway; so it is dropped before translation and counted.
/// </summary>
public static class MulticastFilter
{
    private const int Ipv6DestinationFirstByte = 24;
    private const int Ipv4DestinationFirstByte = 16;

    public static bool IsMulticast(ReadOnlySpan<byte> packet) => (packet[0] >> 4) switch
    {
        6 => packet.Length > Ipv6DestinationFirstByte && packet[Ipv6DestinationFirstByte] == 0xFF,
        // 224.0.0.0/4, and the limited broadcast 255.255.255.255 (also inside 240/4's top)
        4 => packet.Length > Ipv4DestinationFirstByte + 3 && (packet[Ipv4DestinationFirstByte] >> 4 == 0xE
             || (packet[Ipv4DestinationFirstByte] & packet[Ipv4DestinationFirstByte + 1] & packet[Ipv4DestinationFirstByte + 2] & packet[Ipv4DestinationFirstByte + 3]) == 0xFF),
        _ => false,
    };
}
