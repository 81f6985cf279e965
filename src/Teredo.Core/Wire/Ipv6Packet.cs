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
        if (buffer.Length < HeaderLength || buffer[0] >> 4 != 6) return false;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(Field.PayloadLength));
        if (HeaderLength + payloadLength > buffer.Length) return false;
        packet = new Ipv6Packet(buffer.Slice(0, HeaderLength + payloadLength));
        return true;
    }

    public int Version => _buffer[Field.VersionTrafficFlow] >> 4;
    public byte TrafficClass => (byte)(BinaryPrimitives.ReadUInt16BigEndian(_buffer) >> 4);
    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_buffer) & 0x000F_FFFF;
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
        BinaryPrimitives.WriteUInt32BigEndian(destination, 6u << 28 | (uint)TrafficClass << 20 | (FlowLabel & 0x000F_FFFF));
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(4), PayloadLength);
        destination[6] = NextHeader;
        destination[7] = HopLimit;
        Source.Write(destination.Slice(8));
        Destination.Write(destination.Slice(24));
    }
}

/// <summary>A writable view of the IPv6 fixed header, with the offsets of <see cref="Ipv6Packet"/>.</summary>
public readonly ref struct Ipv6PacketWriter
{
    private readonly Span<byte> _buffer;

    public Ipv6PacketWriter(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Version 6, the traffic class, and a flow label.</summary>
    public void SetVersionClassFlow(byte trafficClass, uint flowLabel) =>
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(Ipv6Packet.Field.VersionTrafficFlow),
            6u << 28 | (uint)trafficClass << 20 | (flowLabel & 0x000F_FFFF));
    public ushort PayloadLength { set => BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(Ipv6Packet.Field.PayloadLength), value); }
    public byte NextHeader { set => _buffer[Ipv6Packet.Field.NextHeader] = value; }
    public byte HopLimit { set => _buffer[Ipv6Packet.Field.HopLimit] = value; }
    public Ipv6Address Source { set => value.Write(_buffer.Slice(Ipv6Packet.Field.Source)); }
    public Ipv6Address Destination { set => value.Write(_buffer.Slice(Ipv6Packet.Field.Destination)); }
}
