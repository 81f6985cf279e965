using BenchmarkDotNet.Attributes;
using Teredo.Addressing;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Relay;
using Teredo.Server;
using Teredo.Wire;

namespace Teredo.Benchmarks;

/// <summary>
/// Per-packet cost of the engines themselves, without system calls: what the daemons add on top of the
/// kernel. Goal: zero bytes allocated per packet.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    // miredo's Router Solicitation (nonce-only authentication), captured in the lab.
    private static readonly byte[] RsPayload = Convert.FromHexString(
        "00010000a8a8a7bc6f60d02f006000000000083afffe800000000000000000ffffffffffffff02000000000000000000000000000285007d3700000000");

    private static readonly Ipv4Endpoint Client = new(new Ipv4Address(198, 18, 200, 10), 40016);
    private static readonly Ipv4Endpoint Peer = new(new Ipv4Address(198, 18, 2, 1), 40000);
    private static readonly Ipv6Address PeerAddress = TeredoAddress.Create(new Ipv4Address(198, 18, 0, 10), TeredoFlags.None, Peer).Address;
    private static readonly Ipv6Address Native = Ipv6Address.Parse("2001:db8:1::100");

    private readonly TeredoServerEngine _server = new(new ServerOptions { Primary = new Ipv4Address(198, 18, 200, 1), AdvertisementRatePerSource = 0 });
    private readonly TeredoRelayEngine _relay = new(new RelayOptions { NonceKey = new byte[32] });
    private readonly byte[] _toClient = new byte[1280];
    private readonly byte[] _fromClient = new byte[1280];
    private readonly NullSink _sink = new();
    private long _now;

    [GlobalSetup]
    public void Setup()
    {
        new Ipv6Header(Native, PeerAddress, IpProtocol.Udp, 1240).Emit(_toClient);
        new Ipv6Header(PeerAddress, Native, IpProtocol.Udp, 1240).Emit(_fromClient);
        // Make the peer trusted: a packet toward it (queued, bubble), then its answer.
        _relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, _toClient, _sink);
        var bubble = new byte[Bubble.Length];
        Bubble.Emit(bubble, PeerAddress, _relay.NonceAddress(PeerAddress));
        _relay.OnDatagram(1, TeredoRelayEngine.UdpPort, Peer, bubble, _sink);
    }

    [Benchmark]
    public int ServerAnswersRouterSolicitation()
    {
        _server.OnDatagram(_now++, TeredoServerEngine.PrimaryPort, Client, RsPayload, _sink);
        return _sink.Length;
    }

    [Benchmark]
    public void RelayTunToTrustedPeer() => _relay.OnDevicePacket(2, TeredoRelayEngine.TunDevice, _toClient, _sink);

    [Benchmark]
    public void RelayUdpToNative() => _relay.OnDatagram(2, TeredoRelayEngine.UdpPort, Peer, _fromClient, _sink);

    /// <summary>Keeps only the last length: the cost measured is the engine's.</summary>
    private sealed class NullSink : IPacketOutput
    {
        private readonly byte[] _buffer = new byte[4096];
        public int Length { get; private set; }
        public Span<byte> Reserve(int maxLength) => _buffer;
        public void Send(PortHandle from, Ipv4Endpoint to, int length) => Length = length;
        public void Write(DeviceHandle device, int length) => Length = length;
    }
}
