using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>A read-only view of an IPv6 packet (RFC 8200 §3): fixed header, then payload.</summary>
public readonly ref struct Ipv6Packet
{
    /// <summary>Field offsets, all in one place.</summary>
    internal static class Field
    {
        public const int VersionTrafficFlow = 0;
        public const int PayloadLength = 4;
        public const int NextHeader = 6;
        public const int HopLimit = 7;
        public const int Source = 8;
        public const int Destination = 24;
    }

    public const int HeaderLength = 40;
    /// <summary>The minimum IPv6 link MTU, which Teredo uses as its MTU (RFC 4380 §5.1.2).</summary>
    public const int MinimumMtu = 1280;

    private readonly ReadOnlySpan<byte> _buffer;

    private Ipv6Packet(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Accepts a buffer that starts with an IPv6 header whose payload fits in it; bytes after the payload
    /// are not part of the packet. Never throws.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6Packet packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength || buffer[Field.VersionTrafficFlow] >> 4 != 6) return false;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.PayloadLength));
        if (HeaderLength + payloadLength > buffer.Length) return false;
        packet = new Ipv6Packet(buffer.Slice(0, HeaderLength + payloadLength));
        return true;
    }

    /// <summary>
    /// The IPv6 packet quoted in an ICMPv6 error (RFC 4443 §2.4 c): a whole fixed header, but the payload may
    /// be cut short, so <see cref="PayloadLength"/> is the original's and may exceed the bytes present.
    /// </summary>
    public static bool TryParseQuoted(ReadOnlySpan<byte> buffer, out Ipv6Packet packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength || buffer[Field.VersionTrafficFlow] >> 4 != 6) return false;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.PayloadLength));
        packet = new Ipv6Packet(buffer.Slice(0, Math.Min(HeaderLength + payloadLength, buffer.Length)));
        return true;
    }

    /// <summary>For the writable twin: the getters over a buffer whose header it is building.</summary>
    internal static Ipv6Packet Over(ReadOnlySpan<byte> buffer) => new(buffer);

    public int Version => _buffer[Field.VersionTrafficFlow] >> 4;
    public byte TrafficClass => (byte)(BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.VersionTrafficFlow)) >> 4);
    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_buffer.Slice(Field.VersionTrafficFlow)) & 0x000F_FFFF;
    public ushort PayloadLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer.Slice(Field.PayloadLength));
    public byte NextHeader => _buffer[Field.NextHeader];
    public byte HopLimit => _buffer[Field.HopLimit];
    public Ipv6Address Source => Ipv6Address.Read(_buffer.Slice(Field.Source));
    public Ipv6Address Destination => Ipv6Address.Read(_buffer.Slice(Field.Destination));
    public ReadOnlySpan<byte> Payload => _buffer.Slice(HeaderLength);
    /// <summary>The whole packet, header included, exactly PayloadLength + 40 bytes.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    public int TotalLength => _buffer.Length;

    /// <summary>A bubble is an IPv6 packet with No Next Header and no payload (RFC 4380 §2.8).</summary>
    public bool IsBubble => NextHeader == IpProtocol.NoNextHeader && PayloadLength == 0;

    public Ipv6Header ToHeader() => new(Source, Destination, NextHeader, PayloadLength, HopLimit, TrafficClass, FlowLabel);

    /// <summary>Rewrites the hop limit in place (a forwarder's only change to the header).</summary>
    public static void SetHopLimit(Span<byte> packet, byte hopLimit) => packet[Field.HopLimit] = hopLimit;
}

/// <summary>The fields of an IPv6 fixed header, to emit one.</summary>
public readonly record struct Ipv6Header(
    Ipv6Address Source,
    Ipv6Address Destination,
    byte NextHeader,
    ushort PayloadLength,
    byte HopLimit = Ipv6Header.DefaultHopLimit,
    byte TrafficClass = 0,
    uint FlowLabel = 0)
{
    public const byte DefaultHopLimit = 64;

    /// <summary>Writes the 40-byte header; the payload is the caller's to write after it.</summary>
    public void Emit(Span<byte> destination)
    {
        if (destination.Length < Ipv6Packet.HeaderLength) throw new ArgumentException("buffer too small", nameof(destination));
        var header = new Ipv6PacketWriter(destination);
        header.SetVersionClassFlow(TrafficClass, FlowLabel);
        header.PayloadLength = PayloadLength;
        header.NextHeader = NextHeader;
        header.HopLimit = HopLimit;
        header.Source = Source;
        header.Destination = Destination;
    }
}

/// <summary>
/// A writable view of the IPv6 fixed header (smoltcp's <c>Packet&lt;&amp;mut [u8]&gt;</c>): getters read
/// through <see cref="Ipv6Packet"/>, setters write the offsets of <see cref="Ipv6Packet.Field"/>.
/// </summary>
public readonly ref struct Ipv6PacketWriter
{
    private readonly Span<byte> _buffer;

    public Ipv6PacketWriter(Span<byte> buffer) => _buffer = buffer;

    private Ipv6Packet View => Ipv6Packet.Over(_buffer);

    /// <summary>Version 6, the traffic class, and a flow label.</summary>
    public void SetVersionClassFlow(byte trafficClass, uint flowLabel) =>
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(Ipv6Packet.Field.VersionTrafficFlow),
            6u << 28 | (uint)trafficClass << 20 | (flowLabel & 0x000F_FFFF));
    public int Version => View.Version;
    public byte TrafficClass => View.TrafficClass;
    public uint FlowLabel => View.FlowLabel;
    public ushort PayloadLength
    {
        get => View.PayloadLength;
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv6Packet.Field.PayloadLength), value);
    }
    public byte NextHeader { get => View.NextHeader; set => _buffer[Ipv6Packet.Field.NextHeader] = value; }
    public byte HopLimit { get => View.HopLimit; set => _buffer[Ipv6Packet.Field.HopLimit] = value; }
    public Ipv6Address Source { get => View.Source; set => value.Write(_buffer.Slice(Ipv6Packet.Field.Source)); }
    public Ipv6Address Destination { get => View.Destination; set => value.Write(_buffer.Slice(Ipv6Packet.Field.Destination)); }
}
