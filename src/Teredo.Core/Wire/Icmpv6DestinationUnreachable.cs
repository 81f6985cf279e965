using Teredo.Net;

namespace Teredo.Wire;

/// <summary>Destination Unreachable codes (RFC 4443 §3.1).</summary>
public enum UnreachableCode : byte
{
    NoRoute = 0,
    AdministrativelyProhibited = 1,
    BeyondScope = 2,
    AddressUnreachable = 3,
    PortUnreachable = 4,
}

/// <summary>
/// Destination Unreachable (RFC 4443 §3.1): 4 unused bytes, then as much of the invoking packet as fits
/// without the error exceeding the minimum IPv6 MTU. A relay sends code 3 when a peer never answers its
/// bubbles (RFC 4380 §5.4.1).
/// </summary>
public static class Icmpv6DestinationUnreachable
{
    public const int MaxPacketLength = Icmpv6Error.MaxPacketLength;

    /// <summary>The invoking packet quoted in a Destination Unreachable, when <paramref name="message"/> is one.</summary>
    public static bool TryParse(Icmpv6Packet message, out UnreachableCode code, out ReadOnlySpan<byte> invokingPacket)
    {
        code = default;
        invokingPacket = default;
        if (message.Type != Icmpv6Type.DestinationUnreachable || message.Bytes.Length < IcmpHeader.Length)
            return false;
        code = (UnreachableCode)message.Code;
        invokingPacket = message.Bytes.Slice(IcmpHeader.Length);
        return true;
    }

    /// <summary>Writes a whole IPv6 packet carrying the error, truncating the quote to stay within 1280 bytes.</summary>
    public static int Emit(Span<byte> destination, Ipv6Address source, Ipv6Address target, UnreachableCode code,
        ReadOnlySpan<byte> invokingPacket) =>
        Icmpv6Error.Emit(destination, source, target, Icmpv6Type.DestinationUnreachable, (byte)code, 0, invokingPacket);
}
