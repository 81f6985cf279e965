using System.Buffers.Binary;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Support;

/// <summary>Builds test packets for the translator, byte by byte, with correct checksums unless told otherwise.</summary>
public static class Nat64Packets
{
    public static readonly Ipv6Address Host6 = Ipv6Address.Parse("2001:db8:1::10");
    public static readonly Ipv4Address Host4 = Ipv4Address.Parse("192.0.2.10");
    public static readonly Ipv4Address Server4 = Ipv4Address.Parse("198.51.100.7");
    /// <summary>A network-specific prefix (any IPv4 may be embedded, unlike the Well-Known Prefix).</summary>
    public static readonly Ipv6Address Prefix = Ipv6Address.Parse("2001:db8:64::");
    public static readonly Ipv6Address Server6 = Ipv6Address.Parse("2001:db8:64::198.51.100.7");

    public static byte[] Udp(int sourcePort, int destinationPort, byte[] data)
    {
        var b = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)b.Length);
        data.CopyTo(b, 8);
        return b;
    }

    public static byte[] Tcp(int sourcePort, int destinationPort, byte[] data)
    {
        var b = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), 0x01020304);
        b[12] = 0x50;
        b[13] = 0x18;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(14), 65535);
        data.CopyTo(b, 20);
        return b;
    }

    public static byte[] Icmp(byte type, byte code, uint rest, byte[] data)
    {
        var b = new byte[8 + data.Length];
        b[0] = type;
        b[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), rest);
        data.CopyTo(b, 8);
        return b;
    }

    /// <summary>An IPv6 packet; the upper-layer checksum is filled for TCP, UDP and ICMPv6 (unless <paramref name="fillChecksum"/> is false).</summary>
    public static byte[] Ipv6(Ipv6Address source, Ipv6Address destination, byte protocol, byte[] upper, byte hopLimit = 64,
        byte[]? extensions = null, byte firstHeader = 0, bool fillChecksum = true, byte trafficClass = 0)
    {
        extensions ??= [];
        upper = (byte[])upper.Clone();
        if (fillChecksum) FillTransportChecksum(protocol, upper, Checksum.Ipv6PseudoHeader(source, destination, (uint)upper.Length, protocol), icmpHasPseudo: true);
        var b = new byte[40 + extensions.Length + upper.Length];
        new Ipv6Header(source, destination, extensions.Length > 0 ? firstHeader : protocol, (ushort)(extensions.Length + upper.Length), hopLimit, trafficClass).Emit(b);
        extensions.CopyTo(b, 40);
        upper.CopyTo(b, 40 + extensions.Length);
        return b;
    }

    /// <summary>An IPv4 packet; the transport checksum is filled (ICMP without pseudo-header) unless told otherwise.</summary>
    public static byte[] Ipv4(Ipv4Address source, Ipv4Address destination, byte protocol, byte[] upper, byte ttl = 64,
        bool dontFragment = true, ushort identification = 0x1234, byte[]? options = null, bool fillChecksum = true,
        bool moreFragments = false, int fragmentOffset = 0, byte tos = 0)
    {
        options ??= [];
        upper = (byte[])upper.Clone();
        if (fillChecksum)
            FillTransportChecksum(protocol, upper, Checksum.Ipv4PseudoHeader(source, destination, protocol, (ushort)upper.Length), icmpHasPseudo: false);
        int headerLength = 20 + options.Length;
        var b = new byte[headerLength + upper.Length];
        b[0] = (byte)(0x40 | headerLength / 4);
        b[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)b.Length);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), identification);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), (ushort)((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | fragmentOffset / 8));
        b[8] = ttl;
        b[9] = protocol;
        source.Write(b.AsSpan(12));
        destination.Write(b.AsSpan(16));
        options.CopyTo(b, 20);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(10), Checksum.Compute(b.AsSpan(0, headerLength)));
        upper.CopyTo(b, headerLength);
        return b;
    }

    /// <summary>Writes the checksum a full sum gives (UDP's zero sent as 0xFFFF); ICMPv6 sums the pseudo-header, ICMPv4 does not.</summary>
    public static void FillTransportChecksum(byte protocol, byte[] upper, ulong pseudo, bool icmpHasPseudo)
    {
        int offset = protocol switch
        {
            IpProtocol.Tcp => 16,
            IpProtocol.Udp => 6,
            IpProtocol.Icmp or IpProtocol.Icmpv6 => 2,
            _ => -1,
        };
        if (offset < 0 || upper.Length < offset + 2) return;
        upper[offset] = 0;
        upper[offset + 1] = 0;
        ulong sum = protocol is IpProtocol.Icmp || (protocol == IpProtocol.Icmpv6 && !icmpHasPseudo) ? 0 : pseudo;
        ushort value = Checksum.Finish(Checksum.Add(sum, upper));
        if (protocol == IpProtocol.Udp && value == 0) value = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(upper.AsSpan(offset), value);
    }

    /// <summary>True when the transport checksum of an IPv6 packet (no extension headers) verifies.</summary>
    public static bool TransportChecksumOk6(byte[] packet, int upperOffset = 40)
    {
        var src = Ipv6Address.Read(packet.AsSpan(8));
        var dst = Ipv6Address.Read(packet.AsSpan(24));
        var upper = packet.AsSpan(upperOffset);
        byte nh = upperOffset == 40 ? packet[6] : packet[upperOffset - 8];
        return Checksum.Finish(Checksum.Add(Checksum.Ipv6PseudoHeader(src, dst, (uint)upper.Length, nh), upper)) == 0;
    }

    public static bool TransportChecksumOk4(byte[] packet)
    {
        int ihl = (packet[0] & 15) * 4;
        var upper = packet.AsSpan(ihl);
        ulong pseudo = packet[9] == IpProtocol.Icmp ? 0
            : Checksum.Ipv4PseudoHeader(Ipv4Address.Read(packet.AsSpan(12)), Ipv4Address.Read(packet.AsSpan(16)), packet[9], (ushort)upper.Length);
        return Checksum.Finish(Checksum.Add(pseudo, upper)) == 0;
    }
}
