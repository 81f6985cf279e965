using System.Buffers.Binary;

namespace Teredo.Wire;

/// <summary>The IPv6 Fragment extension header (RFC 8200 §4.5): 8 bytes, read and written in place.</summary>
public readonly ref struct Ipv6FragmentHeader
{
    private static class Field
    {
        public const int NextHeader = 0;
        public const int Reserved = 1;
        public const int OffsetFlags = 2;
        public const int Identification = 4;
    }

    public const int Length = 8;
    public const byte Protocol = 44;

    private readonly Span<byte> _buffer;

    public Ipv6FragmentHeader(Span<byte> buffer) => _buffer = buffer.Slice(0, Length);

    public byte NextHeader { get => _buffer[Field.NextHeader]; set => _buffer[Field.NextHeader] = value; }
    /// <summary>Offset of this fragment's data in bytes (a multiple of 8).</summary>
    public int FragmentOffset => ReadOffset(_buffer);
    public bool MoreFragments => ReadMore(_buffer);
    public uint Identification => ReadIdentification(_buffer);

    public static int ReadOffset(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16BigEndian(header.Slice(Field.OffsetFlags)) & 0xFFF8;
    public static bool ReadMore(ReadOnlySpan<byte> header) => (header[Field.OffsetFlags + 1] & 1) != 0;
    public static uint ReadIdentification(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32BigEndian(header.Slice(Field.Identification));

    /// <summary>Writes the whole header.</summary>
    public void Set(byte nextHeader, int fragmentOffset, bool moreFragments, uint identification)
    {
        _buffer[Field.NextHeader] = nextHeader;
        _buffer[Field.Reserved] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Field.OffsetFlags), (ushort)(fragmentOffset & 0xFFF8 | (moreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(Field.Identification), identification);
    }
}
