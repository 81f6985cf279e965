using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// Router Solicitation (RFC 4861 §4.1): type 133, code 0, 4 reserved bytes, options. Teredo clients
/// send it from a link-local address to ff02::2 with no options (RFC 4380 §5.2.1).
/// </summary>
public static class RouterSolicitation
{
    /// <summary>ICMPv6 header plus the reserved field.</summary>
    public const int MessageLength = 8;
    public const int PacketLength = Ipv6Packet.HeaderLength + MessageLength;

    /// <summary>A well-formed RS: type 133, code 0, at least 8 bytes, valid options (RFC 4861 §6.1.1).</summary>
    public static bool IsValid(Icmpv6Packet message) =>
        message.Type == Icmpv6Type.RouterSolicitation && message.Code == 0
        && message.Bytes.Length >= MessageLength
        && NdOptionReader.Validate(message.Bytes.Slice(MessageLength));

    /// <summary>Writes a whole IPv6 packet carrying an RS with hop limit 255, as ND requires.</summary>
    public static int Emit(Span<byte> destination, Ipv6Address source, Ipv6Address target)
    {
        destination.Slice(Ipv6Packet.HeaderLength, MessageLength).Clear();
        return Icmpv6Packet.EmitPacket(destination, source, target, 255, Icmpv6Type.RouterSolicitation, 0, MessageLength - Icmpv6Packet.HeaderLength);
    }
}
