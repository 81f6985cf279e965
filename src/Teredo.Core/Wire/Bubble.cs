using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// The Teredo bubble (RFC 4380 §2.8): an IPv6 header with No Next Header and an empty payload, sent to
/// open or refresh a NAT mapping.
/// </summary>
public static class Bubble
{
    public const int Length = Ipv6Packet.HeaderLength;

    /// <summary>The RFC leaves the hop limit open; 255 lets a bubble survive any path and receivers ignore it.</summary>
    public const byte HopLimit = 255;

    public static int Emit(Span<byte> destination, Ipv6Address source, Ipv6Address target)
    {
        new Ipv6Header(source, target, IpProtocol.NoNextHeader, 0, HopLimit).Emit(destination);
        return Length;
    }
}
