using System.Buffers.Binary;

namespace Teredo.Wire;

/// <summary>
/// The first eight bytes that ICMPv4 and ICMPv6 messages share (type, code, checksum, four type-specific
/// bytes), read-only. <see cref="IcmpHeaderWriter"/> is its writable twin; both use the offsets of
/// <see cref="Field"/>.
/// </summary>
public readonly ref struct IcmpHeader
{
    internal static class Field
    {
        public const int Type = 0;
        public const int Code = 1;
        public const int Checksum = 2;
        public const int Rest = 4;
        /// <summary>Echo identifier and sequence number (RFC 792, RFC 4443 §4).</summary>
        public const int Identifier = 4;
        public const int Sequence = 6;
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

    private readonly ReadOnlySpan<byte> _buffer;

    private IcmpHeader(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Accepts a message of at least the 8 shared bytes.</summary>
    public static bool TryParse(ReadOnlySpan<byte> message, out IcmpHeader header)
    {
        header = default;
        if (message.Length < Length) return false;
        header = new IcmpHeader(message.Slice(0, Length));
        return true;
    }

    /// <summary>For the writable twin, whose buffer is at least <see cref="Length"/> bytes.</summary>
    internal static IcmpHeader Over(ReadOnlySpan<byte> header) => new(header);

    public byte Type => _buffer[Field.Type];
    public byte Code => _buffer[Field.Code];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Checksum));
    /// <summary>The four type-specific bytes (identifier and sequence of echoes, unused, MTU, pointer).</summary>
    public uint Rest => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.Rest));
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Identifier));
    public ushort Sequence => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Sequence));
    public byte LengthV4 => _buffer[Field.LengthV4];
    public byte LengthV6 => _buffer[Field.LengthV6];
    public ushort MtuV4 => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.MtuV4));
    public uint MtuV6 => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.MtuV6));
    public byte PointerV4 => _buffer[Field.PointerV4];
    public uint PointerV6 => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.PointerV6));
}

/// <summary>
/// The shared ICMP header as a writable view (smoltcp's <c>Packet&lt;&amp;mut [u8]&gt;</c>): getters read
/// through <see cref="IcmpHeader"/>, setters write the same offsets; the translator rewrites these in place.
/// </summary>
public readonly ref struct IcmpHeaderWriter
{
    public const int Length = IcmpHeader.Length;
    /// <summary>The checksum field's offset, for callers that sum the message around it.</summary>
    public const int ChecksumOffset = IcmpHeader.Field.Checksum;

    private readonly Span<byte> _buffer;

    public IcmpHeaderWriter(Span<byte> buffer) => _buffer = buffer.Slice(0, Length);

    private IcmpHeader View => IcmpHeader.Over(_buffer);

    public byte Type { get => View.Type; set => _buffer[IcmpHeader.Field.Type] = value; }
    public byte Code { get => View.Code; set => _buffer[IcmpHeader.Field.Code] = value; }
    public ushort Checksum
    {
        get => View.Checksum;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(IcmpHeader.Field.Checksum), value);
    }
    public uint Rest
    {
        get => View.Rest;
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(IcmpHeader.Field.Rest), value);
    }
    public ushort Identifier
    {
        get => View.Identifier;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(IcmpHeader.Field.Identifier), value);
    }
    public ushort Sequence
    {
        get => View.Sequence;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(IcmpHeader.Field.Sequence), value);
    }
    public byte LengthV4 { get => View.LengthV4; set => _buffer[IcmpHeader.Field.LengthV4] = value; }
    public byte LengthV6 { get => View.LengthV6; set => _buffer[IcmpHeader.Field.LengthV6] = value; }
    public ushort MtuV4
    {
        get => View.MtuV4;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(IcmpHeader.Field.MtuV4), value);
    }
    public uint MtuV6
    {
        get => View.MtuV6;
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(IcmpHeader.Field.MtuV6), value);
    }
    public byte PointerV4 { get => View.PointerV4; set => _buffer[IcmpHeader.Field.PointerV4] = value; }
    public uint PointerV6
    {
        get => View.PointerV6;
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(IcmpHeader.Field.PointerV6), value);
    }

    /// <summary>
    /// Changes the type and keeps the checksum right without summing the message again (RFC 1624). For an
    /// ICMPv4 message that may be all zeros, pass the result through <see cref="Teredo.Wire.Checksum.FixAllZero"/>.
    /// </summary>
    public void ReplaceType(byte type)
    {
        Checksum = Teredo.Wire.Checksum.UpdateWord(Checksum, (ushort)(View.Type << 8 | View.Code), (ushort)(type << 8 | View.Code));
        Type = type;
    }
}
