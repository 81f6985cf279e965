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

    /// <summary>
    /// Accepts any buffer holding the 8-byte header, whatever its length field says: the first fragment of a
    /// datagram, or one quoted in an ICMP error, whose checksum a translator still adjusts.
    /// </summary>
    public static bool TryParseHeader(ReadOnlySpan<byte> buffer, out UdpDatagram datagram)
    {
        datagram = default;
        if (buffer.Length < HeaderLength) return false;
        datagram = new UdpDatagram(buffer);
        return true;
    }

    /// <summary>For the writable twin: the getters over a buffer whose header it is building.</summary>
    internal static UdpDatagram Over(ReadOnlySpan<byte> buffer) => new(buffer);

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
        var header = new UdpDatagramWriter(datagram.Slice(0, length));
        header.SourcePort = sourcePort;
        header.DestinationPort = destinationPort;
        header.Length = length;
        header.FillChecksum(source, destination);
        return length;
    }
}

/// <summary>
/// A writable view of a UDP header (smoltcp's <c>Packet&lt;&amp;mut [u8]&gt;</c>): getters read through
/// <see cref="UdpDatagram"/>, setters write the offsets of <see cref="UdpDatagram.Field"/>. The buffer is
/// the whole datagram when a checksum is filled.
/// </summary>
public readonly ref struct UdpDatagramWriter
{
    private readonly Span<byte> _buffer;

    public UdpDatagramWriter(Span<byte> buffer) => _buffer = buffer;

    private UdpDatagram View => UdpDatagram.Over(_buffer);

    public ushort SourcePort
    {
        get => View.SourcePort;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(UdpDatagram.Field.SourcePort), value);
    }
    public ushort DestinationPort
    {
        get => View.DestinationPort;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(UdpDatagram.Field.DestinationPort), value);
    }
    public ushort Length
    {
        get => View.Length;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(UdpDatagram.Field.Length), value);
    }
    public ushort Checksum
    {
        get => View.ChecksumField;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(UdpDatagram.Field.Checksum), value);
    }

    /// <summary>Computes the checksum over the IPv4 pseudo-header and the whole buffer.</summary>
    public void FillChecksum(Ipv4Address source, Ipv4Address destination) =>
        FillChecksum(Teredo.Wire.Checksum.Ipv4PseudoHeader(source, destination, IpProtocol.Udp, (ushort)_buffer.Length));

    /// <summary>Computes the mandatory checksum over the IPv6 pseudo-header and the whole buffer (RFC 8200 §8.1).</summary>
    public void FillChecksum(Ipv6Address source, Ipv6Address destination) =>
        FillChecksum(Teredo.Wire.Checksum.Ipv6PseudoHeader(source, destination, (uint)_buffer.Length, IpProtocol.Udp));

    /// <summary>A computed zero is sent as all ones: zero means "no checksum" (RFC 768).</summary>
    private void FillChecksum(ulong pseudoHeader)
    {
        Checksum = 0;
        ushort sum = Teredo.Wire.Checksum.Finish(Teredo.Wire.Checksum.Add(pseudoHeader, _buffer));
        Checksum = sum == 0 ? (ushort)0xFFFF : sum;
    }

    /// <summary>The checksum after a pseudo-header change (removed, added); "none" stays none (<see cref="Teredo.Wire.Checksum.UpdateUdp"/>).</summary>
    public void UpdateChecksum(ulong removed, ulong added) => Checksum = Teredo.Wire.Checksum.UpdateUdp(Checksum, removed, added);

    public void ReplaceSourcePort(ushort port)
    {
        Checksum = Teredo.Wire.Checksum.UpdateUdp(Checksum, SourcePort, port);
        SourcePort = port;
    }

    public void ReplaceDestinationPort(ushort port)
    {
        Checksum = Teredo.Wire.Checksum.UpdateUdp(Checksum, DestinationPort, port);
        DestinationPort = port;
    }
}
