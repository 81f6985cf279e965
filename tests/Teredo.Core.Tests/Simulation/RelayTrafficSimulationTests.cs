using Teredo.Client;
using Teredo.Relay;
using Teredo.Server;

namespace Teredo.Tests.Simulation;

/// <summary>
/// IPv6 both ways between a native host and a client behind each NAT kind, through the real relay and
/// server: the relay's indirect bubble through the server, the client's direct bubble that opens its NAT
/// (and, behind a symmetric NAT, proves the new mapping by the relay's nonce), the client's direct IPv6
/// connectivity test through the server, and then data straight between relay and client.
/// </summary>
public class RelayTrafficSimulationTests
{
    public static TheoryData<NatKind?> EveryNat => new() { NatKind.FullCone, NatKind.AddressRestricted, NatKind.PortRestricted, NatKind.Symmetric, null };

    [Theory]
    [MemberData(nameof(EveryNat))]
    public void A_native_host_reaches_the_client_through_the_relay_first_packet_included(NatKind? kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind);
        Assert.True(sim.QualifyAll());

        // The first ping waits in the relay's queue while the bubbles go round, then comes out.
        Assert.True(sim.Ping(sim.NativeHost, client.Address, 1));
        Assert.Equal(1, client.Stack.EchoRequestsAnswered);

        var relay = sim.Relay.Engine.Counters;
        Assert.Equal(1, relay[RelayCounter.IndirectBubblesSent]);
        Assert.Equal(1, relay[RelayCounter.QueueReleased]);
        Assert.Equal(1, client.Engine.Counters[ClientCounter.IndirectBubbleAnswered]);
        // Only the symmetric NAT gives the client's bubble another mapping than its address embeds: the nonce proves it.
        Assert.Equal(kind == NatKind.Symmetric ? 1 : 0, relay[RelayCounter.MismatchAcceptedByNonce]);
        Assert.True(sim.Relay.Engine.Peers.Find(client.Address) is { Trusted: true });

        // The path is open: the next pings go straight to the client's mapping, no bubble, no server.
        long toServerBefore = sim.Server.Engine.Counters[ServerCounter.Received];
        for (ushort seq = 2; seq <= 5; seq++) Assert.True(sim.Ping(sim.NativeHost, client.Address, seq));
        Assert.Equal(toServerBefore, sim.Server.Engine.Counters[ServerCounter.Received]);
        Assert.Equal(1, relay[RelayCounter.IndirectBubblesSent]);
        // The four pings, and the answer to the echo test the client ran before it sent its first reply
        // (§5.2.3 case 6: an unproven native source is tested before anything goes back to it).
        Assert.Equal(1, client.Engine.Counters[ClientCounter.EchoTestsSent]);
        Assert.Equal(5, relay[RelayCounter.SentToTrustedPeer]);
    }

    [Theory]
    [MemberData(nameof(EveryNat))]
    public void The_client_reaches_a_native_host_after_its_connectivity_test_through_the_server(NatKind? kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind);
        Assert.True(sim.QualifyAll());

        Assert.True(sim.Ping(client.Stack, TeredoSimulation.NativeHostAddress, 1));

        // The echo test went out through the server's native IPv6 side; its answer came back through the relay.
        Assert.Equal(1, client.Engine.Counters[ClientCounter.EchoTestsSent]);
        Assert.Equal(1, client.Engine.Counters[ClientCounter.EchoTestAnswered]);
        Assert.Equal(1, sim.Server.Engine.Counters[ServerCounter.ForwardedToIpv6]);
        Assert.Equal(1, client.Engine.Counters[ClientCounter.QueueReleased]);
        // The client learned the relay as the native host's mapping.
        var peer = client.Engine.Peers.Find(TeredoSimulation.NativeHostAddress);
        Assert.NotNull(peer);
        Assert.True(peer.Trusted);
        Assert.Equal(sim.Relay.Endpoint, peer.Mapped);

        for (ushort seq = 2; seq <= 5; seq++) Assert.True(sim.Ping(client.Stack, TeredoSimulation.NativeHostAddress, seq));
        Assert.Equal(1, client.Engine.Counters[ClientCounter.EchoTestsSent]);
        Assert.Equal(1, sim.Server.Engine.Counters[ServerCounter.ForwardedToIpv6]);
        // The five pings and the echo test.
        Assert.Equal(6, sim.NativeHost.EchoRequestsAnswered);
    }

    [Theory]
    [MemberData(nameof(EveryNat))]
    public void Both_directions_at_once_share_one_path(NatKind? kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind);
        Assert.True(sim.QualifyAll());

        client.Stack.Ping(TeredoSimulation.NativeHostAddress, 1);
        sim.NativeHost.Ping(client.Address, 2);
        Assert.True(sim.Network.RunUntil(
            () => client.Stack.GotReply(TeredoSimulation.NativeHostAddress, 1) && sim.NativeHost.GotReply(client.Address, 2), 20_000));
        Assert.Equal(1, sim.Relay.Engine.Peers.Count);
    }
}
