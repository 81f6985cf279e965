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
        if (buffer.Length < MinHeaderLength || buffer[Field.VersionIhl] >> 4 != 4) return false;
        int headerLength = (buffer[Field.VersionIhl] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.TotalLength));
        if (headerLength < MinHeaderLength || totalLength < headerLength || totalLength > buffer.Length) return false;
        packet = new Ipv4Packet(buffer.Slice(0, totalLength));
        return true;
    }

    /// <summary>
    /// The IPv4 packet quoted in an ICMP error (RFC 792, RFC 1812 §4.3.2.3): a whole header, but the payload
    /// may be cut short, so the total length is the original's and may exceed the bytes present.
    /// </summary>
    public static bool TryParseQuoted(ReadOnlySpan<byte> buffer, out Ipv4Packet packet)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength || buffer[Field.VersionIhl] >> 4 != 4) return false;
        int headerLength = (buffer[Field.VersionIhl] & 0x0F) * 4;
        if (headerLength < MinHeaderLength || headerLength > buffer.Length) return false;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.TotalLength));
        packet = new Ipv4Packet(buffer.Slice(0, Math.Clamp(totalLength, headerLength, buffer.Length)));
        return true;
    }

    /// <summary>For the writable twin: the getters over a buffer whose header it is building.</summary>
    internal static Ipv4Packet Over(ReadOnlySpan<byte> buffer) => new(buffer);

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
        var header = new Ipv4PacketWriter(destination.Slice(0, Length));
        header.HeaderLength = Length;
        header.TypeOfService = TypeOfService;
        header.TotalLength = checked((ushort)(Length + PayloadLength));
        header.Identification = Identification;
        header.SetFragment(DontFragment, moreFragments: false, offset: 0);
        header.Ttl = Ttl;
        header.Protocol = Protocol;
        header.Source = Source;
        header.Destination = Destination;
        header.FillChecksum();
    }
}

/// <summary>
/// A writable view of an IPv4 header (smoltcp's <c>Packet&lt;&amp;mut [u8]&gt;</c>): getters read through
/// <see cref="Ipv4Packet"/>, setters write the offsets of <see cref="Ipv4Packet.Field"/>. The translator
/// builds headers field by field with it, and a forwarder changes fields in place with the
/// checksum-preserving setters (RFC 1624) instead of summing the header again.
/// </summary>
public readonly ref struct Ipv4PacketWriter
{
    private readonly Span<byte> _buffer;

    public Ipv4PacketWriter(Span<byte> buffer) => _buffer = buffer;

    private Ipv4Packet View => Ipv4Packet.Over(_buffer);

    /// <summary>Version 4 with a header of this many bytes (a multiple of 4).</summary>
    public int HeaderLength { get => View.HeaderLength; set => _buffer[Ipv4Packet.Field.VersionIhl] = (byte)(0x40 | value / 4); }
    public byte TypeOfService { get => View.TypeOfService; set => _buffer[Ipv4Packet.Field.Tos] = value; }
    public ushort TotalLength
    {
        get => View.TotalLength;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.TotalLength), value);
    }
    public ushort Identification
    {
        get => View.Identification;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Identification), value);
    }
    public bool DontFragment => View.DontFragment;
    public bool MoreFragments => View.MoreFragments;
    public int FragmentOffset => View.FragmentOffset;
    public byte Ttl { get => View.Ttl; set => _buffer[Ipv4Packet.Field.Ttl] = value; }
    public byte Protocol { get => View.Protocol; set => _buffer[Ipv4Packet.Field.Protocol] = value; }
    public ushort HeaderChecksum
    {
        get => View.HeaderChecksum;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Checksum), value);
    }
    public Ipv4Address Source { get => View.Source; set => value.Write(_buffer.Slice(Ipv4Packet.Field.Source)); }
    public Ipv4Address Destination { get => View.Destination; set => value.Write(_buffer.Slice(Ipv4Packet.Field.Destination)); }

    /// <summary>Flags and fragment offset (in bytes, a multiple of 8).</summary>
    public void SetFragment(bool dontFragment, bool moreFragments, int offset) =>
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.FlagsFragment),
            (ushort)((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (offset >> 3 & 0x1FFF)));

    /// <summary>Computes the header checksum over the first <paramref name="headerLength"/> bytes.</summary>
    public void FillChecksum(int headerLength = Ipv4Packet.MinHeaderLength)
    {
        HeaderChecksum = 0;
        HeaderChecksum = Checksum.Compute(_buffer.Slice(0, headerLength));
    }

    /// <summary>Sets the TTL and updates the header checksum for the changed word (TTL, protocol) only.</summary>
    public void ReplaceTtl(byte ttl)
    {
        ushort before = BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Ttl));
        Ttl = ttl;
        HeaderChecksum = Checksum.UpdateWord(HeaderChecksum, before, BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Ipv4Packet.Field.Ttl)));
    }

    /// <summary>Sets the source address and updates the header checksum for it (a NAT's rewrite).</summary>
    public void ReplaceSource(Ipv4Address source)
    {
        HeaderChecksum = Checksum.UpdateAddress(HeaderChecksum, Source, source);
        Source = source;
    }

    /// <summary>Sets the destination address and updates the header checksum for it.</summary>
    public void ReplaceDestination(Ipv4Address destination)
    {
        HeaderChecksum = Checksum.UpdateAddress(HeaderChecksum, Destination, destination);
        Destination = destination;
    }
}
