using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Coordinator;
using Teredo.Hosting.Ipv4Peer;
using Teredo.Hosting.P2p;
using Teredo.Net;
using Teredo.P2p.Coordinator;
using Teredo.P2p.Ipv4Peer;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.P2p.Ipv4Peer;

/// <summary>
/// The whole role on loopback: the real coordinator daemon (TLS 1.3, pinned certificate, UDP bubbles), the
/// peer's CoordinatorClient bound to the engine as the daemon binds it, and a UDP socket playing the relay.
/// A relay bubble for T(D) makes the coordinator lease T(D) to the peer and notify it; the peer bubbles the
/// relay back from T(D); data for T(D) is translated; a use report renews the lease; a restart keeps the
/// static address. Only the TUN and the relay's IPv6 side are in memory.
/// </summary>
public sealed class V4PeerWholeRoleTests : IAsyncLifetime
{
    private static readonly Ipv4Address S = new(127, 0, 0, 1);
    private static readonly Ipv4Address Local = new(10, 0, 0, 2);
    private static readonly Ipv4Address D = new(198, 18, 0, 100);
    private static readonly Ipv6Address Nonce = Ipv6Address.Parse("fe80::8000:5445:5245:444f");
    private readonly string _root = Directory.CreateTempSubdirectory("teredo-v4peer-").FullName;
    private readonly object _gate = new();
    private readonly ListSink _sink = new();
    private CoordinatorDaemon _coordinator = null!;

    public Task InitializeAsync()
    {
        _coordinator = new CoordinatorDaemon(new CoordinatorHostSettings
        {
            Engine = new CoordinatorOptions { Address = S, AllowDestinations = [new Ipv4Prefix(new Ipv4Address(198, 18, 0, 0), 15)] },
            TlsPort = 0,
            BubblePort = 0,
            StateDirectory = Path.Combine(_root, "coordinator"),
            ControlSocket = Path.Combine(_root, "coordinator.sock"),
        }, NullLogger<CoordinatorDaemon>.Instance);
        return _coordinator.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _coordinator.StopAsync(CancellationToken.None);
        _coordinator.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private (CoordinatorClient Client, Ipv4PeerEngine Engine) StartPeer()
    {
        var engine = new Ipv4PeerEngine(new Ipv4PeerOptions { LocalAddress = Local, AllowedDestinations = [(new Ipv4Address(198, 18, 0, 0), 15)] });
        var client = new CoordinatorClient(new CoordinatorClientOptions
        {
            Host = S.ToString(),
            Port = _coordinator.TlsEndpoint.Port,
            Pin = CertificatePin.Parse(_coordinator.Pin),
            StateDirectory = Path.Combine(_root, "peer"),
            LocalAddress = Local,
        }, NullLogger.Instance);
        ControlBinding.Bind(client, engine, call => { lock (_gate) call(Environment.TickCount64, _sink); });
        client.Start();
        WaitFor(() => client.IsConnected && Locked(() => engine.Translator is not null), "the welcome");
        return (client, engine);
    }

    private T Locked<T>(Func<T> read)
    {
        lock (_gate) return read();
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            if (condition()) return;
            Thread.Sleep(20);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    [Fact]
    public async Task Relay_bubble_lease_peer_bubble_translation_and_renewal_over_the_real_control_channel()
    {
        Directory.CreateDirectory(Path.Combine(_root, "peer"));
        var (client, engine) = StartPeer();
        var target = CoordinatorAddress.Dynamic(S, D).ToIpv6();

        using var relay = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        relay.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var relayEndpoint = new Ipv4Endpoint(S, (ushort)((IPEndPoint)relay.LocalEndPoint!).Port);
        var bubble = new byte[Bubble.Length];
        Bubble.Emit(bubble, Nonce, target);
        relay.SendTo(bubble, new IPEndPoint(IPAddress.Loopback, _coordinator.BubbleEndpoint.Port));

        WaitFor(() => Locked(() => _sink.Packets.Count) > 0, "the peer's bubble");
        var (route, to, bytes) = Locked(() => Assert.Single(_sink.Take()));
        Assert.Equal(OutputRoute.Udp, route);
        Assert.Equal(relayEndpoint, to);
        Assert.True(Ipv6Packet.TryParse(bytes, out var answer) && answer.IsBubble);
        Assert.Equal(target, answer.Source);
        Assert.Equal(Nonce, answer.Destination);
        Assert.True(Locked(() => engine.IsHeld(target)));

        var request = Ipv4PeerHarness.EchoRequest(target);
        lock (_gate) engine.OnDatagram(Environment.TickCount64, Ipv4PeerEngine.UdpPort, relayEndpoint, request, _sink);
        var v4 = Locked(() => Assert.Single(_sink.Take())).Bytes;
        Assert.True(Ipv4Packet.TryParse(v4, out var ip4) && ip4.Destination == D);
        lock (_gate) engine.OnDevicePacket(Environment.TickCount64, Ipv4PeerEngine.TunDevice, Ipv4PeerHarness.EchoReplyTo(v4), _sink);
        Assert.Equal(relayEndpoint, Locked(() => Assert.Single(_sink.Take())).To);

        var report = new List<Teredo.P2p.Control.LeaseUse>();
        lock (_gate) engine.CollectUseReport(Environment.TickCount64, report);
        Assert.True(await client.ReportUseAsync(report));
        WaitFor(() => engine.Counters[Ipv4PeerCounter.LeasesRenewed] > 0, "the coordinator's renewal");
        Assert.True(_coordinator.Engine.Counters[CoordinatorCounter.LeasesRenewed] >= 1); // the lease left probation

        var staticAddress = client.Welcome!.Value.StaticAddress;
        await client.StopAsync();
        WaitFor(() => Locked(() => _coordinator.Engine.Peers.Count) == 0, "the goodbye");

        var (again, _) = StartPeer();
        Assert.Equal(staticAddress, again.Welcome!.Value.StaticAddress);
        await again.StopAsync();
    }
}
