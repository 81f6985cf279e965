using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>A read-only view of an IPv4 packet (RFC 791): header with options, then payload.</summary>
public readonly ref struct Ipv4Packet
{
    internal static class Field
    {
        public const int VersionIhl = 0;
        public const int Tos = 1;
        public const int TotalLength = 2;
        public const int Identification = 4;
        public const int FlagsFragment = 6;
        public const int Ttl = 8;
        public const int Protocol = 9;
        public const int Checksum = 10;
        public const int Source = 12;
        public const int Destination = 16;
    }

    public const int MinHeaderLength = 20;

    private readonly ReadOnlySpan<byte> _buffer;

    private Ipv4Packet(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Accepts a buffer holding a version-4 header with IHL ≥ 5 and a total length that fits; trailing
    /// bytes (link padding) are cut off. The header checksum is checked separately.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv4Packet packet)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength || buffer[0] >> 4 != 4) return false;
        int headerLength = (buffer[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.TotalLength));
        if (headerLength < MinHeaderLength || totalLength < headerLength || totalLength > buffer.Length) return false;
        packet = new Ipv4Packet(buffer.Slice(0, totalLength));
        return true;
    }

    public int HeaderLength => (_buffer[Field.VersionIhl] & 0x0F) * 4;
    public byte TypeOfService => _buffer[Field.Tos];
    public ushort TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.TotalLength));
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Identification));
    public bool DontFragment => (_buffer[Field.FlagsFragment] & 0x40) != 0;
    public bool MoreFragments => (_buffer[Field.FlagsFragment] & 0x20) != 0;
    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset => (BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.FlagsFragment)) & 0x1FFF) * 8;
    public bool IsFragment => MoreFragments || FragmentOffset != 0;
    public byte Ttl => _buffer[Field.Ttl];
    public byte Protocol => _buffer[Field.Protocol];
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Checksum));
    public Ipv4Address Source => Ipv4Address.Read(_buffer.Slice(Field.Source));
    public Ipv4Address Destination => Ipv4Address.Read(_buffer.Slice(Field.Destination));
    public ReadOnlySpan<byte> Payload => _buffer.Slice(HeaderLength);
    public ReadOnlySpan<byte> Bytes => _buffer;

    public bool VerifyHeaderChecksum() => Checksum.Compute(_buffer.Slice(0, HeaderLength)) == 0;
}

/// <summary>The fields of an option-less IPv4 header, to emit one.</summary>
public readonly record struct Ipv4Header(
    Ipv4Address Source,
    Ipv4Address Destination,
    byte Protocol,
    ushort PayloadLength,
    byte Ttl = 64,
    ushort Identification = 0,
    bool DontFragment = false,
    byte TypeOfService = 0)
{
    public const int Length = Ipv4Packet.MinHeaderLength;

    /// <summary>Writes the 20-byte header with its checksum.</summary>
    public void Emit(Span<byte> destination)
    {
        var h = destination.Slice(0, Length);
        h[0] = 0x45;
        h[1] = TypeOfService;
        BinaryPrimitives.WriteUInt16BigEndian(h.Slice(2), checked((ushort)(Length + PayloadLength)));
        BinaryPrimitives.WriteUInt16BigEndian(h.Slice(4), Identification);
        BinaryPrimitives.WriteUInt16BigEndian(h.Slice(6), (ushort)(DontFragment ? 0x4000 : 0));
        h[8] = Ttl;
        h[9] = Protocol;
        h[10] = 0;
        h[11] = 0;
        Source.Write(h.Slice(12));
        Destination.Write(h.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(h.Slice(10), Checksum.Compute(h));
    }
}

/// <summary>
/// A writable view of an IPv4 header (smoltcp's <c>Packet&lt;&amp;mut [u8]&gt;</c>): the translator builds
/// headers field by field with the offsets of <see cref="Ipv4Packet"/>.
/// </summary>
public readonly ref struct Ipv4PacketWriter
{
    private readonly Span<byte> _buffer;

    public Ipv4PacketWriter(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Version 4 with a header of <paramref name="headerLength"/> bytes.</summary>
    public int HeaderLength { set => _buffer[Ipv4Packet.Field.VersionIhl] = (byte)(0x40 | value / 4); }
    public byte TypeOfService { set => _buffer[Ipv4Packet.Field.Tos] = value; }
    public ushort TotalLength { set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.TotalLength), value); }
    public ushort Identification { set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Identification), value); }
    public byte Ttl { set => _buffer[Ipv4Packet.Field.Ttl] = value; }
    public byte Protocol { set => _buffer[Ipv4Packet.Field.Protocol] = value; }
    public Ipv4Address Source { set => value.Write(_buffer.Slice(Ipv4Packet.Field.Source)); }
    public Ipv4Address Destination { set => value.Write(_buffer.Slice(Ipv4Packet.Field.Destination)); }

    /// <summary>Flags and fragment offset (in bytes, a multiple of 8).</summary>
    public void SetFragment(bool dontFragment, bool moreFragments, int offset) =>
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.FlagsFragment),
            (ushort)((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (offset >> 3 & 0x1FFF)));

    /// <summary>Computes the header checksum over the first <paramref name="headerLength"/> bytes.</summary>
    public void FillChecksum(int headerLength = Ipv4Packet.MinHeaderLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Checksum), 0);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Checksum), Checksum.Compute(_buffer.Slice(0, headerLength)));
    }
}
