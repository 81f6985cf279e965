using Teredo.Common;
using Teredo.Hosting.Ipv6Peer;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.P2p.Ipv6PeerPackets;

namespace Teredo.Tests.Ipv6Peer;

/// <summary>The v6peer with its own relay engine: a flow starts (DESIGN.md §B.2) without any outside relay.</summary>
public class EmbeddedRelayRouterTests
{
    private static readonly Ipv4Endpoint PeerSocket = new(new Ipv4Address(198, 18, 9, 9), 40123);

    [Fact]
    public void A_flow_starts_through_the_embedded_relay_and_its_answers_reach_the_client()
    {
        var peer = new Ipv6PeerEngine(Options());
        var relay = new TeredoRelayEngine(new RelayOptions { OwnAddress = peer.Options.OwnAddress, NonceKey = new byte[32] });
        var outer = new ListSink();
        var router = new EmbeddedRelayRouter(peer, relay);
        var t = TeredoOf(Coordinators[0], Destination);

        // C's first packet: rewritten, queued by the relay, which bubbles the coordinator (S:3544).
        router.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Echo(ClientAddr, Nat64Of(Destination)), outer);
        var bubble = Assert.Single(outer.Take());
        Assert.Equal(OutputRoute.Udp, bubble.Route);
        Assert.Equal(new Ipv4Endpoint(Coordinators[0], 3544), bubble.To);

        // The IPv4 peer answers from its own socket with a bubble to the relay's nonce address: the queue is released.
        var answer = new byte[Bubble.Length];
        Bubble.Emit(answer, t, relay.NonceAddress(t));
        router.OnDatagram(1, TeredoRelayEngine.UdpPort, PeerSocket, answer, outer);
        var released = Assert.Single(outer.Take());
        Assert.Equal(PeerSocket, released.To);
        Assert.True(Ipv6Packet.TryParse(released.Bytes, out var sent));
        Assert.Equal(t, sent.Destination);
        Assert.True(sent.Source.IsIn(Pool, 112));

        // Its reply crosses the relay and then the v6peer, and reaches C as N::D.
        router.OnDatagram(2, TeredoRelayEngine.UdpPort, PeerSocket, Echo(t, sent.Source, request: false), outer);
        var delivered = Assert.Single(outer.Take());
        Assert.Equal(OutputRoute.Tun, delivered.Route);
        Assert.True(Ipv6Packet.TryParse(delivered.Bytes, out var back));
        Assert.Equal(Nat64Of(Destination), back.Source);
        Assert.Equal(ClientAddr, back.Destination);
        Assert.True(ChecksumValid(delivered.Bytes));

        // The relay reaches nothing but the pool: a peer cannot use this host to reach the client directly.
        router.OnDatagram(3, TeredoRelayEngine.UdpPort, PeerSocket, Echo(t, ClientAddr, request: false), outer);
        Assert.Empty(outer.Take());
        Assert.Equal(1, router.RelayConfined);
    }
}
