using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>A read-only view of a UDP datagram (RFC 768): 8-byte header, then payload.</summary>
public readonly ref struct UdpDatagram
{
    internal static class Field
    {
        public const int SourcePort = 0;
        public const int DestinationPort = 2;
        public const int Length = 4;
        public const int Checksum = 6;
    }

    public const int HeaderLength = 8;
    public const int ChecksumOffset = Field.Checksum;

    private readonly ReadOnlySpan<byte> _buffer;

    private UdpDatagram(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Accepts a header whose length field covers at least the header and fits the buffer.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out UdpDatagram datagram)
    {
        datagram = default;
        if (buffer.Length < HeaderLength) return false;
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.Length));
        if (length < HeaderLength || length > buffer.Length) return false;
        datagram = new UdpDatagram(buffer.Slice(0, length));
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.SourcePort));
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.DestinationPort));
    public ushort Length => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Length));
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Checksum));
    public ReadOnlySpan<byte> Payload => _buffer.Slice(HeaderLength);
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>Over IPv4 a zero checksum means "not computed" (RFC 768) and is accepted.</summary>
    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination) =>
        ChecksumField == 0 ||
        Checksum.Finish(Checksum.Add(Checksum.Ipv4PseudoHeader(source, destination, IpProtocol.Udp, Length), _buffer)) == 0;

    /// <summary>Over IPv6 the checksum is mandatory (RFC 8200 §8.1).</summary>
    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination) =>
        ChecksumField != 0 &&
        Checksum.Finish(Checksum.Add(Checksum.Ipv6PseudoHeader(source, destination, Length, IpProtocol.Udp), _buffer)) == 0;

    /// <summary>Writes the 8-byte header for a payload already placed after it, with the IPv4 pseudo-header checksum.</summary>
    public static int Emit(Span<byte> datagram, Ipv4Address source, ushort sourcePort, Ipv4Address destination,
        ushort destinationPort, int payloadLength)
    {
        ushort length = checked((ushort)(HeaderLength + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(datagram, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.Slice(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.Slice(4), length);
        datagram[6] = 0;
        datagram[7] = 0;
        ushort sum = Checksum.Finish(Checksum.Add(Checksum.Ipv4PseudoHeader(source, destination, IpProtocol.Udp, length), datagram.Slice(0, length)));
        // A computed zero is sent as all ones: zero means "no checksum" (RFC 768).
        BinaryPrimitives.WriteUInt16BigEndian(datagram.Slice(6), sum == 0 ? (ushort)0xFFFF : sum);
        return length;
    }
}
