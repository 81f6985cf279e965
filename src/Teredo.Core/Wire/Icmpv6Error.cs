using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// An ICMPv6 error message (RFC 4443 §3): the 8-byte header whose last word is unused, an MTU or a pointer,
/// then as much of the invoking packet as fits without the error exceeding the minimum IPv6 MTU (§2.4 c).
/// </summary>
public static class Icmpv6Error
{
    public const int MaxPacketLength = Ipv6Packet.MinimumMtu;
    /// <summary>Where the invoking packet starts in the whole IPv6 packet.</summary>
    public const int QuoteOffset = Ipv6Packet.HeaderLength + IcmpHeader.Length;

    /// <summary>How many bytes of an invoking packet of <paramref name="invokingLength"/> bytes fit.</summary>
    public static int QuotedLength(int invokingLength) => Math.Min(invokingLength, MaxPacketLength - QuoteOffset);

    /// <summary>
    /// Writes a whole IPv6 packet carrying the error (hop limit 64) into <paramref name="destination"/>, which
    /// holds at least <see cref="QuoteOffset"/> + <see cref="QuotedLength"/> bytes; returns its length.
    /// </summary>
    public static int Emit(Span<byte> destination, Ipv6Address source, Ipv6Address target, byte type, byte code, uint rest,
        ReadOnlySpan<byte> invokingPacket)
    {
        int quoted = QuotedLength(invokingPacket.Length);
        new IcmpHeaderWriter(destination.Slice(Ipv6Packet.HeaderLength)).Rest = rest;
        invokingPacket.Slice(0, quoted).CopyTo(destination.Slice(QuoteOffset));
        return Icmpv6Packet.EmitPacket(destination, source, target, Ipv6Header.DefaultHopLimit, type, code,
            IcmpHeader.Length - Icmpv6Packet.HeaderLength + quoted);
    }
}
