namespace Teredo.Wire;

/// <summary>
/// The version nibble that opens every IP header: what a TUN or a tunnel hands over is sorted by it
/// before the matching view parses the rest. Both headers keep it in the top four bits of byte 0
/// (<see cref="Ipv4Packet.Field.VersionIhl"/>, <see cref="Ipv6Packet.Field.VersionTrafficFlow"/>).
/// </summary>
public static class IpVersion
{
    public const int V4 = 4;
    public const int V6 = 6;

    /// <summary>The version of the packet in <paramref name="packet"/>; 0 for an empty buffer, which no view accepts.</summary>
    public static int Of(ReadOnlySpan<byte> packet) => packet.IsEmpty ? 0 : packet[Ipv6Packet.Field.VersionTrafficFlow] >> 4;
}
