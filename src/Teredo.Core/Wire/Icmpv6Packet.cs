using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>ICMPv6 message types this project reads or writes (RFC 4443, RFC 4861).</summary>
public static class Icmpv6Type
{
    public const byte DestinationUnreachable = 1;
    public const byte PacketTooBig = 2;
    public const byte TimeExceeded = 3;
    public const byte ParameterProblem = 4;
    public const byte EchoRequest = 128;
    public const byte EchoReply = 129;
    public const byte RouterSolicitation = 133;
    public const byte RouterAdvertisement = 134;
    public const byte NeighborSolicitation = 135;
    public const byte NeighborAdvertisement = 136;
    public const byte Redirect = 137;

    /// <summary>Types 0-127 are errors, 128-255 informational (RFC 4443 §2.1); no error is sent about an error (§2.4 e.1).</summary>
    public static bool IsError(byte type) => type < 128;
}

/// <summary>A read-only view of an ICMPv6 message (RFC 4443 §2.1): type, code, checksum, body.</summary>
public readonly ref struct Icmpv6Packet
{
    internal static class Field
    {
        public const int Type = 0;
        public const int Code = 1;
        public const int Checksum = 2;
        public const int Body = 4;
    }

    public const int HeaderLength = 4;
    public const int ChecksumOffset = Field.Checksum;

    private readonly ReadOnlySpan<byte> _buffer;

    private Icmpv6Packet(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    public static bool TryParse(ReadOnlySpan<byte> buffer, out Icmpv6Packet packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength) return false;
        packet = new Icmpv6Packet(buffer);
        return true;
    }

    /// <summary>The ICMPv6 message carried by <paramref name="ip"/>, when its next header is ICMPv6 (no extension headers).</summary>
    public static bool TryParse(Ipv6Packet ip, out Icmpv6Packet packet)
    {
        packet = default;
        return ip.NextHeader == IpProtocol.Icmpv6 && TryParse(ip.Payload, out packet);
    }

    public byte Type => _buffer[Field.Type];
    public byte Code => _buffer[Field.Code];
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Checksum));
    /// <summary>Everything after the checksum: for most types, a 4-byte header-specific part and then data.</summary>
    public ReadOnlySpan<byte> Body => _buffer.Slice(Field.Body);
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>Checks the checksum over the IPv6 pseudo-header; the message must be the whole upper-layer payload.</summary>
    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination) =>
        Checksum.Finish(Checksum.Add(
            Checksum.Ipv6PseudoHeader(source, destination, (uint)_buffer.Length, IpProtocol.Icmpv6), _buffer)) == 0;

    /// <summary>Computes and stores the checksum of a message written in place.</summary>
    public static void FillChecksum(Span<byte> message, Ipv6Address source, Ipv6Address destination)
    {
        message[Field.Checksum] = 0;
        message[Field.Checksum + 1] = 0;
        ulong sum = Checksum.Add(Checksum.Ipv6PseudoHeader(source, destination, (uint)message.Length, IpProtocol.Icmpv6), message);
        BinaryPrimitives.WriteUInt16BigEndian(message.Slice(Field.Checksum), Checksum.Finish(sum));
    }

    /// <summary>
    /// Updates the checksum of a message changed in place by RFC 1624 eqn. 3 (words summing to
    /// <paramref name="removed"/> replaced by <paramref name="added"/>) and returns the new value; the
    /// message reaches at least the checksum field (<see cref="TryParse(ReadOnlySpan{byte}, out Icmpv6Packet)"/>).
    /// </summary>
    public static ushort UpdateChecksum(Span<byte> message, ulong removed, ulong added)
    {
        Span<byte> field = message.Slice(Field.Checksum, sizeof(ushort));
        ushort updated = Checksum.Update(BinaryPrimitives.ReadUInt16BigEndian(field), removed, added);
        BinaryPrimitives.WriteUInt16BigEndian(field, updated);
        return updated;
    }

    /// <summary>
    /// Writes an IPv6 header and an ICMPv6 message whose body <paramref name="writeBody"/> already placed at
    /// offset 40 + 4, then fills the checksum. Returns the packet length.
    /// </summary>
    internal static int EmitPacket(Span<byte> destination, Ipv6Address source, Ipv6Address target, byte hopLimit,
        byte type, byte code, int bodyLength)
    {
        int messageLength = HeaderLength + bodyLength;
        new Ipv6Header(source, target, IpProtocol.Icmpv6, checked((ushort)messageLength), hopLimit).Emit(destination);
        Span<byte> message = destination.Slice(Ipv6Packet.HeaderLength, messageLength);
        message[Field.Type] = type;
        message[Field.Code] = code;
        FillChecksum(message, source, target);
        return Ipv6Packet.HeaderLength + messageLength;
    }
}
