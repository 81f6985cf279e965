using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Wire;

namespace Teredo.Benchmarks;

/// <summary>
/// Per-packet cost of the IPv6 peer's rewrite (DESIGN.md §B.4) on a 1280-byte UDP packet — the Teredo MTU —
/// out (C → N::D becomes P(C) → T_k(D)) and back, with three coordinators, plus an ICMPv6 Packet Too Big
/// whose quoted packet is rewritten too. The copy into the output buffer is included; the TUN is not.
/// </summary>
[MemoryDiagnoser]
public class Ipv6PeerBenchmarks
{
    private static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:1::10");
    private static readonly Ipv4Address Destination = new(198, 18, 100, 1);

    private readonly Ipv6PeerEngine _engine = new(new Ipv6PeerOptions
    {
        Prefix = Ipv6Address.Parse("2001:db8:64::"),
        Pool = Ipv6Address.Parse("2001:db8:100::"),
        PoolLength = 112,
        Coordinators = [new(198, 18, 0, 1), new(198, 18, 0, 2), new(198, 18, 0, 3)],
        ClientNetworks = [(Ipv6Address.Parse("2001:db8:1::"), 64)],
        AllowedDestinations = [(new Ipv4Address(198, 18, 0, 0), 15)],
    });
    private readonly CaptureSink _sink = new();
    private byte[] _out = [];
    private byte[] _back = [];
    private byte[] _packetTooBig = [];

    [GlobalSetup]
    public void Setup()
    {
        _out = Udp(Client, Ipv4EmbeddedIpv6.Embed(Ipv6Address.Parse("2001:db8:64::"), 96, Destination));
        _engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, _out, _sink);
        var sent = _sink.Last.ToArray();
        var pooled = Ipv6Address.Read(sent.AsSpan(8));
        var teredo = Ipv6Address.Read(sent.AsSpan(24));
        _back = Udp(teredo, pooled);
        _packetTooBig = new byte[1280];
        var message = _packetTooBig.AsSpan(Ipv6Packet.HeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(message.Slice(4), 1280);
        sent.AsSpan(0, 1280 - 48).CopyTo(message.Slice(8));
        var relay = Ipv6Address.Parse("2001:db8:ffff::1");
        new Ipv6Header(relay, pooled, IpProtocol.Icmpv6, 1240).Emit(_packetTooBig);
        message[0] = Icmpv6Type.PacketTooBig;
        Icmpv6Packet.FillChecksum(message, relay, pooled);
    }

    private static byte[] Udp(Ipv6Address source, Ipv6Address destination)
    {
        var packet = new byte[1280];
        new Ipv6Header(source, destination, IpProtocol.Udp, 1240).Emit(packet);
        var udp = packet.AsSpan(Ipv6Packet.HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(2), 443);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(4), 1240);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(6), Checksum.Finish(Checksum.Add(
            Checksum.Ipv6PseudoHeader(source, destination, 1240, IpProtocol.Udp), udp)));
        return packet;
    }

    [Benchmark]
    public void ClientToCoordinator() => _engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, _out, _sink);

    [Benchmark]
    public void CoordinatorToClient() => _engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, _back, _sink);

    [Benchmark]
    public void PacketTooBigToClient() => _engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, _packetTooBig, _sink);

    private sealed class CaptureSink : IPacketOutput
    {
        private readonly byte[] _buffer = new byte[2048];
        private int _length;
        public ReadOnlySpan<byte> Last => _buffer.AsSpan(0, _length);
        public Span<byte> Reserve(int maxLength) => _buffer;
        public void Send(PortHandle from, Ipv4Endpoint to, int length) => _length = length;
        public void Write(DeviceHandle device, int length) => _length = length;
    }
}
