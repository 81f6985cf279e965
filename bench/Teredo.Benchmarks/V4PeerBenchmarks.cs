using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Ipv4Peer;
using Teredo.Wire;

namespace Teredo.Benchmarks;

/// <summary>
/// The IPv4 peer's CPU per translated packet, without system calls: a 1240-byte UDP payload in a Teredo
/// datagram from a relay to T(D) translated to IPv4 for the TUN, and the IPv4 answer translated back and
/// routed to the relay. Goal: zero bytes allocated per packet.
/// </summary>
[MemoryDiagnoser]
public class V4PeerBenchmarks
{
    private static readonly Ipv4Address Coordinator = new(198, 18, 0, 30);
    private static readonly Ipv4Address D = new(198, 18, 0, 100);
    private static readonly Ipv4Endpoint Relay = new(new Ipv4Address(198, 18, 0, 20), 3545);
    private static readonly Ipv6Address User = Ipv6Address.Parse("2001:db8:6::17");
    private const int Payload = 1200;

    private readonly Ipv4PeerEngine _engine = new(new Ipv4PeerOptions
    {
        LocalAddress = new Ipv4Address(10, 3, 0, 2),
        AllowedDestinations = [(new Ipv4Address(198, 18, 0, 0), 15)],
        PerSourcePacketsPerSecond = 0,
    });
    private readonly byte[] _fromRelay = new byte[Ipv6Packet.HeaderLength + UdpDatagram.HeaderLength + Payload];
    private readonly byte[] _fromTun = new byte[Ipv4Header.Length + UdpDatagram.HeaderLength + Payload];
    private readonly KeepLastSink _sink = new();

    [GlobalSetup]
    public void Setup()
    {
        var target = CoordinatorAddress.Dynamic(Coordinator, D).ToIpv6();
        _engine.OnWelcome(0, new WelcomeMessage(1, Coordinator, CoordinatorAddress.Prefix(Coordinator).Upper, default, 0, 300, 15, 60, 1000));
        _engine.OnLeaseGranted(0, new LeaseGranted(target, ushort.MaxValue, []), _sink);

        int udpLength = UdpDatagram.HeaderLength + Payload;
        new Ipv6Header(User, target, IpProtocol.Udp, (ushort)udpLength).Emit(_fromRelay);
        var udp = _fromRelay.AsSpan(Ipv6Packet.HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(2), 7);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(4), (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(6), Checksum.Finish(Checksum.Add(Checksum.Ipv6PseudoHeader(User, target, (uint)udpLength, IpProtocol.Udp), udp)));

        _engine.OnDatagram(1, Ipv4PeerEngine.UdpPort, Relay, _fromRelay, _sink);
        var pool = Ipv4Address.Read(_sink.Last.AsSpan(12)); // the user's pool address
        UdpDatagram.Emit(_fromTun.AsSpan(Ipv4Header.Length), D, 7, pool, 40000, Payload);
        new Ipv4Header(D, pool, IpProtocol.Udp, (ushort)udpLength).Emit(_fromTun);
    }

    [Benchmark]
    public void RelayToTun() => _engine.OnDatagram(2, Ipv4PeerEngine.UdpPort, Relay, _fromRelay, _sink);

    [Benchmark]
    public void TunToRelay() => _engine.OnDevicePacket(2, Ipv4PeerEngine.TunDevice, _fromTun, _sink);

    private sealed class KeepLastSink : IPacketOutput
    {
        private readonly byte[] _buffer = new byte[65536];
        public byte[] Last { get; private set; } = [];
        public Span<byte> Reserve(int maxLength) => _buffer;
        public void Send(PortHandle from, Ipv4Endpoint to, int length) => Keep(length);
        public void Write(DeviceHandle device, int length) => Keep(length);

        private void Keep(int length)
        {
            if (Last.Length == 0) Last = _buffer[..length];
        }
    }
}
