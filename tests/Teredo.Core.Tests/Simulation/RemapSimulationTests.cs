using Teredo.Client;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Recovery after the NAT loses the client's mapping (RFC 4380 §5.2.5): the NAT gives the client's next
/// datagram a new public port, the client's next refresh solicitation reports it, the client takes a new
/// address, and traffic through the relay resumes on it.
/// </summary>
public class RemapSimulationTests
{
    [Theory]
    [InlineData(NatKind.FullCone)]
    [InlineData(NatKind.AddressRestricted)]
    [InlineData(NatKind.PortRestricted)]
    [InlineData(NatKind.Symmetric)]
    public void After_a_remap_the_next_refresh_brings_a_new_address_and_traffic_resumes(NatKind kind)
    {
        using var sim = new TeredoSimulation();
        var client = sim.AddClient(kind);
        Assert.True(sim.QualifyAll());
        Assert.True(sim.Ping(sim.NativeHost, client.Address, 1));
        Assert.True(sim.Ping(client.Stack, TeredoSimulation.NativeHostAddress, 2));
        var oldAddress = client.Engine.Address;
        var nat = client.Nat!;
        // Where the relay sends to the client: the embedded mapping, or behind a symmetric NAT the one its nonce proved.
        var relayMapping = sim.Relay.Engine.Peers.Find(oldAddress.Address)!.Mapped;
        Assert.Equal(kind == NatKind.Symmetric, relayMapping != oldAddress.Mapped);

        nat.Remap(client.Host.Address);
        long remappedAt = sim.Network.NowMs;

        // Meanwhile the old address leads nowhere: the relay still trusts the old mapping, the NAT refuses it.
        sim.NativeHost.Ping(oldAddress.Address, 3);
        sim.Network.RunFor(1000);
        Assert.False(sim.NativeHost.GotReply(oldAddress.Address, 3));
        Assert.Contains(sim.Network.Datagrams, d => d.To == relayMapping && d.SentMs >= remappedAt && d.Fate == DatagramFate.RefusedByNat);

        // The client notices at its next refresh, at most one refresh interval after its last word from the server.
        Assert.True(sim.Network.RunUntil(() => client.Events.Exists(e => e.Kind == ClientEventKind.AddressChanged),
            client.Engine.RefreshIntervalMs));
        var changed = client.Events.Find(e => e.Kind == ClientEventKind.AddressChanged);
        Assert.Equal(oldAddress, changed.Previous);
        Assert.NotEqual(oldAddress.Address, changed.Address.Address);
        Assert.True(changed.TimeMs > remappedAt);
        Assert.Equal(ClientState.Qualified, client.Engine.State);
        Assert.Equal(1, client.Engine.Counters[ClientCounter.AddressChanges]);
        // The new address embeds the NAT's new mapping toward the server, and the stack has it.
        Assert.True(nat.TryGetMapping(client.ServiceSocket, TeredoSimulation.ServerPrimaryEndpoint, out var mapped));
        Assert.Equal(mapped, client.Engine.Address.Mapped);
        Assert.NotEqual(oldAddress.Mapped, mapped);
        Assert.Equal(client.Address, client.Stack.Address);

        // Both directions work again on the new address.
        Assert.True(sim.Ping(sim.NativeHost, client.Address, 4));
        Assert.True(sim.Ping(client.Stack, TeredoSimulation.NativeHostAddress, 5));
    }

    [Fact]
    public void A_NAT_flush_that_hits_the_server_and_relay_flows_alike_is_recovered_the_same_way()
    {
        using var sim = new TeredoSimulation();
        var one = sim.AddClient(NatKind.PortRestricted);
        var two = sim.AddClient(NatKind.Symmetric);
        Assert.True(sim.QualifyAll());
        foreach (var client in sim.Clients) Assert.True(sim.Ping(sim.NativeHost, client.Address, 1));
        var before = sim.Clients.ConvertAll(c => c.Address);

        foreach (var client in sim.Clients) client.Nat!.Flush();

        Assert.True(sim.Network.RunUntil(() => sim.Clients.TrueForAll(c => c.Engine.Counters[ClientCounter.AddressChanges] == 1),
            one.Engine.Options.RefreshIntervalMs));
        for (int i = 0; i < sim.Clients.Count; i++)
        {
            Assert.NotEqual(before[i], sim.Clients[i].Address);
            Assert.True(sim.Ping(sim.NativeHost, sim.Clients[i].Address, 2));
        }
        Assert.NotEqual(one.Address, two.Address);
    }
}
