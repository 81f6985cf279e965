using System.Buffers.Binary;

namespace Teredo.Wire;

/// <summary>
/// The first eight bytes that ICMPv4 and ICMPv6 messages share (type, code, checksum, four
/// type-specific bytes), as a writable view: the translator rewrites these in place.
/// </summary>
public readonly ref struct IcmpHeaderWriter
{
    private static class Field
    {
        public const int Type = 0;
        public const int Code = 1;
        public const int Checksum = 2;
        public const int Rest = 4;
        /// <summary>RFC 4884 length of the original datagram: ICMPv4 byte 5 (32-bit words), ICMPv6 byte 4 (64-bit words).</summary>
        public const int LengthV4 = 5;
        public const int LengthV6 = 4;
        /// <summary>Next-hop MTU of Fragmentation Needed (RFC 1191) and Packet Too Big (32 bits in ICMPv6).</summary>
        public const int MtuV4 = 6;
        public const int MtuV6 = 4;
        public const int PointerV4 = 4;
        public const int PointerV6 = 4;
    }

    public const int Length = 8;

    private readonly Span<byte> _buffer;

    public IcmpHeaderWriter(Span<byte> buffer) => _buffer = buffer.Slice(0, Length);

    public byte Type { get => _buffer[Field.Type]; set => _buffer[Field.Type] = value; }
    public byte Code { get => _buffer[Field.Code]; set => _buffer[Field.Code] = value; }
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Checksum));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Field.Checksum), value);
    }
    /// <summary>The four type-specific bytes (identifier and sequence of echoes, unused, MTU, pointer).</summary>
    public uint Rest
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.Rest));
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(Field.Rest), value);
    }
    public byte LengthV4 { get => _buffer[Field.LengthV4]; set => _buffer[Field.LengthV4] = value; }
    public byte LengthV6 { get => _buffer[Field.LengthV6]; set => _buffer[Field.LengthV6] = value; }
    public ushort MtuV4
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.MtuV4));
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Field.MtuV4), value);
    }
    public uint MtuV6
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.MtuV6));
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(Field.MtuV6), value);
    }
    public byte PointerV4 { get => _buffer[Field.PointerV4]; set => _buffer[Field.PointerV4] = value; }
    public uint PointerV6
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.PointerV6));
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(Field.PointerV6), value);
    }
    /// <summary>The checksum field's offset, for callers that sum the message around it.</summary>
    public const int ChecksumOffset = Field.Checksum;
}
