using System.Buffers.Binary;

namespace Teredo.Wire;

/// <summary>
/// A read-only view of the TCP header fields a translator or NAT touches (RFC 9293 §3.1): the ports and the
/// checksum. The rest of the segment is carried unchanged, so it is not modelled.
/// </summary>
public readonly ref struct TcpSegment
{
    internal static class Field
    {
        public const int SourcePort = 0;
        public const int DestinationPort = 2;
        public const int Checksum = 16;
    }

    public const int MinHeaderLength = 20;
    public const int ChecksumOffset = Field.Checksum;

    private readonly ReadOnlySpan<byte> _buffer;

    private TcpSegment(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Accepts a buffer that reaches the checksum field: enough for a translator, which may see the segment
    /// truncated inside an ICMP error. Whether it is a whole valid segment is the receiver's business.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out TcpSegment segment)
    {
        segment = default;
        if (buffer.Length < Field.Checksum + 2) return false;
        segment = new TcpSegment(buffer);
        return true;
    }

    internal static TcpSegment Over(ReadOnlySpan<byte> buffer) => new(buffer);

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.SourcePort));
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.DestinationPort));
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.Checksum));
}

/// <summary>
/// The writable twin of <see cref="TcpSegment"/>: ports and checksum, with setters that keep the checksum
/// right by RFC 1624 instead of summing the segment again.
/// </summary>
public readonly ref struct TcpSegmentWriter
{
    private readonly Span<byte> _buffer;

    /// <summary>The buffer reaches at least the checksum field (<see cref="TcpSegment.TryParse"/>).</summary>
    public TcpSegmentWriter(Span<byte> buffer) => _buffer = buffer;

    private TcpSegment View => TcpSegment.Over(_buffer);

    public ushort SourcePort
    {
        get => View.SourcePort;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(TcpSegment.Field.SourcePort), value);
    }
    public ushort DestinationPort
    {
        get => View.DestinationPort;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(TcpSegment.Field.DestinationPort), value);
    }
    public ushort Checksum
    {
        get => View.ChecksumField;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(TcpSegment.Field.Checksum), value);
    }

    /// <summary>The checksum after a pseudo-header change: words summing to <paramref name="removed"/> replaced by <paramref name="added"/>.</summary>
    public void UpdateChecksum(ulong removed, ulong added) => Checksum = Teredo.Wire.Checksum.Update(Checksum, removed, added);

    public void ReplaceSourcePort(ushort port)
    {
        Checksum = Teredo.Wire.Checksum.UpdateWord(Checksum, SourcePort, port);
        SourcePort = port;
    }

    public void ReplaceDestinationPort(ushort port)
    {
        Checksum = Teredo.Wire.Checksum.UpdateWord(Checksum, DestinationPort, port);
        DestinationPort = port;
    }
}
