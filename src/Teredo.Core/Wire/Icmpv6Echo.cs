using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// Echo Request and Echo Reply (RFC 4443 §4): identifier, sequence number, data. The Teredo direct
/// IPv6 connectivity test (RFC 4380 §5.2.9) carries its random nonce in the data.
/// </summary>
public readonly ref struct Icmpv6Echo
{
    public const int HeaderLength = IcmpHeader.Length;

    private Icmpv6Echo(bool isRequest, ushort identifier, ushort sequence, ReadOnlySpan<byte> data)
    {
        IsRequest = isRequest;
        Identifier = identifier;
        Sequence = sequence;
        Data = data;
    }

    public bool IsRequest { get; }
    public ushort Identifier { get; }
    public ushort Sequence { get; }
    public ReadOnlySpan<byte> Data { get; }

    public static bool TryParse(Icmpv6Packet message, out Icmpv6Echo echo)
    {
        echo = default;
        if ((message.Type != Icmpv6Type.EchoRequest && message.Type != Icmpv6Type.EchoReply) || message.Code != 0
            || message.Bytes.Length < HeaderLength) return false;
        IcmpHeader.TryParse(message.Bytes, out var header);
        echo = new Icmpv6Echo(message.Type == Icmpv6Type.EchoRequest, header.Identifier, header.Sequence, message.Bytes.Slice(HeaderLength));
        return true;
    }

    /// <summary>Writes a whole IPv6 packet carrying an echo request or reply; returns its length.</summary>
    public static int Emit(Span<byte> destination, Ipv6Address source, Ipv6Address target, bool request,
        ushort identifier, ushort sequence, ReadOnlySpan<byte> data, byte hopLimit = Ipv6Header.DefaultHopLimit)
    {
        Span<byte> message = destination.Slice(Ipv6Packet.HeaderLength);
        var header = new IcmpHeaderWriter(message);
        header.Identifier = identifier;
        header.Sequence = sequence;
        data.CopyTo(message.Slice(HeaderLength));
        return Icmpv6Packet.EmitPacket(destination, source, target, hopLimit,
            request ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply, 0, HeaderLength - Icmpv6Packet.HeaderLength + data.Length);
    }
}
