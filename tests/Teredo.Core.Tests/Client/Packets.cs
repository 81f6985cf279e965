using Teredo.Addressing;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Client;

/// <summary>Literal packets for the client tests, written with the wire emitters.</summary>
public static class Packets
{
    public static readonly Ipv4Address PeerServer = new(198, 18, 0, 30);
    public static readonly Ipv4Endpoint PeerMapping = new(new Ipv4Address(198, 18, 5, 1), 41000);
    public static readonly Ipv4Endpoint Relay = new(new Ipv4Address(198, 18, 0, 20), 3544);
    public static readonly Ipv6Address Native = Ipv6Address.Parse("2001:db8:1::100");

    public static Ipv6Address PeerAddress(bool cone = false, Ipv4Endpoint? mapping = null, Ipv4Address? server = null) =>
        TeredoAddress.Create(server ?? PeerServer, TeredoFlags.Create(cone, 0x5a5), mapping ?? PeerMapping).Address;

    public static byte[] Bubble(Ipv6Address source, Ipv6Address destination)
    {
        var b = new byte[Teredo.Wire.Bubble.Length];
        Teredo.Wire.Bubble.Emit(b, source, destination);
        return b;
    }

    /// <summary>A bubble as a server relays it: origin indication, then the bubble.</summary>
    public static byte[] IndirectBubble(Ipv6Address source, Ipv6Address destination, Ipv4Endpoint origin)
    {
        var b = new byte[TeredoOriginIndication.Length + Teredo.Wire.Bubble.Length];
        TeredoOriginIndication.Emit(b, origin);
        Teredo.Wire.Bubble.Emit(b.AsSpan(TeredoOriginIndication.Length), source, destination);
        return b;
    }

    public static byte[] Echo(Ipv6Address source, Ipv6Address destination, bool request = true, ReadOnlySpan<byte> data = default, ushort sequence = 1)
    {
        var p = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + data.Length];
        Icmpv6Echo.Emit(p, source, destination, request, 0x4242, sequence, data);
        return p;
    }

    public static byte[] EchoReplyWithNonce(Ipv6Address source, Ipv6Address destination, ulong nonce)
    {
        Span<byte> data = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(data, nonce);
        return Echo(source, destination, request: false, data);
    }

    /// <summary>The nonce in an echo request's data (the client's connectivity test).</summary>
    public static ulong NonceOf(byte[] echoRequest)
    {
        Assert.True(Ipv6Packet.TryParse(echoRequest, out var ip));
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(Icmpv6Echo.TryParse(icmp, out var echo));
        Assert.True(echo.IsRequest);
        Assert.Equal(8, echo.Data.Length);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(echo.Data);
    }

    /// <summary>The IPv6 destination of a Teredo datagram (encapsulations skipped), or :: when it is none.</summary>
    public static Ipv6Address DestinationOf(byte[] payload) =>
        TeredoDatagram.TryParse(payload, out var d) == TeredoParseError.None ? d.Ipv6.Destination : default;

    public static Ipv6Packet Parse(byte[] bytes)
    {
        Assert.True(Ipv6Packet.TryParse(bytes, out var ip));
        return ip;
    }
}
