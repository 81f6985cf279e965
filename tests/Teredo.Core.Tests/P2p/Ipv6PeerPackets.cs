using System.Buffers.Binary;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Wire;

namespace Teredo.Tests.P2p;

/// <summary>Addresses and packet builders shared by the IPv6 peer's tests (documentation and benchmarking ranges only).</summary>
public static class Ipv6PeerPackets
{
    public static readonly Ipv6Address Prefix = Ipv6Address.Parse("2001:db8:64::");
    public static readonly Ipv6Address Pool = Ipv6Address.Parse("2001:db8:100::");
    public static readonly Ipv6Address ClientAddr = Ipv6Address.Parse("2001:db8:1::10");
    public static readonly Ipv4Address Destination = new(198, 18, 100, 1);
    public static readonly Ipv4Address[] Coordinators = [new(198, 18, 0, 1), new(198, 18, 0, 2), new(198, 18, 0, 3)];
    public static readonly Ipv6Address RelayAddr = Ipv6Address.Parse("2001:db8:ffff::1");

    public static Ipv6PeerOptions Options(int coordinators = 1, int poolLength = 112) => new()
    {
        Prefix = Prefix,
        PrefixLength = 96,
        Pool = Pool,
        PoolLength = poolLength,
        Coordinators = Coordinators[..coordinators].ToList(),
        ClientNetworks = [(Ipv6Address.Parse("2001:db8:1::"), 64)],
        AllowedDestinations = [(new Ipv4Address(198, 18, 0, 0), 15)],
    };

    public static Ipv6Address Nat64Of(Ipv4Address d) => Ipv4EmbeddedIpv6.Embed(Prefix, 96, d);

    public static Ipv6Address TeredoOf(Ipv4Address coordinator, Ipv4Address d) => CoordinatorAddress.Dynamic(coordinator, d).ToIpv6();

    public static byte[] Udp(Ipv6Address source, Ipv6Address destination, ushort sourcePort = 40000, ushort destinationPort = 53,
        int payload = 12, byte hopLimit = 64)
    {
        var packet = new byte[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + payload];
        new Ipv6Header(source, destination, IpProtocol.Udp, (ushort)(UdpDatagram.HeaderLength + payload), hopLimit).Emit(packet);
        var udp = packet.AsSpan(Ipv6Packet.HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(4), (ushort)udp.Length);
        for (int i = 0; i < payload; i++) udp[8 + i] = (byte)(i * 7 + 1);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(6), Checksum.Finish(Checksum.Add(
            Checksum.Ipv6PseudoHeader(source, destination, (uint)udp.Length, IpProtocol.Udp), udp)));
        return packet;
    }

    public static byte[] Tcp(Ipv6Address source, Ipv6Address destination, byte hopLimit = 64)
    {
        var packet = new byte[Ipv6Packet.HeaderLength + 20 + 5];
        new Ipv6Header(source, destination, IpProtocol.Tcp, 25, hopLimit).Emit(packet);
        var tcp = packet.AsSpan(Ipv6Packet.HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 51000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.Slice(2), 443);
        BinaryPrimitives.WriteUInt32BigEndian(tcp.Slice(4), 0x12345678);
        tcp[12] = 5 << 4;
        tcp[13] = 0x18; // PSH ACK
        BinaryPrimitives.WriteUInt16BigEndian(tcp.Slice(14), 65535);
        "hello"u8.CopyTo(tcp.Slice(20));
        BinaryPrimitives.WriteUInt16BigEndian(tcp.Slice(16), Checksum.Finish(Checksum.Add(
            Checksum.Ipv6PseudoHeader(source, destination, (uint)tcp.Length, IpProtocol.Tcp), tcp)));
        return packet;
    }

    public static byte[] Echo(Ipv6Address source, Ipv6Address destination, bool request = true, byte hopLimit = 64)
    {
        var packet = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + 16];
        Icmpv6Echo.Emit(packet, source, destination, request, 7, 1, new byte[16], hopLimit);
        return packet;
    }

    /// <summary>An ICMPv6 error from <paramref name="source"/> quoting <paramref name="invoking"/> (cut to <paramref name="quote"/> bytes).</summary>
    public static byte[] Error(Ipv6Address source, Ipv6Address destination, byte type, byte code, uint rest, byte[] invoking, int quote = int.MaxValue)
    {
        int quoted = Math.Min(quote, invoking.Length);
        var packet = new byte[Ipv6Packet.HeaderLength + 8 + quoted];
        new Ipv6Header(source, destination, IpProtocol.Icmpv6, (ushort)(8 + quoted)).Emit(packet);
        var message = packet.AsSpan(Ipv6Packet.HeaderLength);
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.Slice(4), rest);
        invoking.AsSpan(0, quoted).CopyTo(message.Slice(8));
        Icmpv6Packet.FillChecksum(message, source, destination);
        return packet;
    }

    /// <summary>Full recomputation of the upper-layer checksum (the engine only ever patches it).</summary>
    public static bool ChecksumValid(ReadOnlySpan<byte> packet)
    {
        Assert.True(Ipv6Packet.TryParse(packet, out var ip));
        return Checksum.Finish(Checksum.Add(
            Checksum.Ipv6PseudoHeader(ip.Source, ip.Destination, (uint)ip.Payload.Length, ip.NextHeader), ip.Payload)) == 0;
    }
}
