using Teredo.Client;
using Teredo.Net;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Client;

public class ClientMaintenanceTests
{
    /// <summary>Solicitations the client sent after qualification (behind a full-cone NAT the three probes are all answered at once).</summary>
    private static int MaintenanceSolicitations(ClientHarness h) =>
        h.ToServer.Count(p => TeredoDatagram.TryParse(p.Bytes, out var d) == TeredoParseError.None
            && Icmpv6Packet.TryParse(d.Ipv6, out var icmp) && icmp.Type == Icmpv6Type.RouterSolicitation) - 3;

    [Fact]
    public void Solicits_the_server_after_the_randomized_refresh_interval_and_not_before()
    {
        var h = new ClientHarness(NatBehaviour.FullCone);
        h.Qualify();
        long r = h.Client.RandomizedRefreshMs;
        Assert.InRange(r, 22_500, 30_000);
        h.Advance(r - 100);
        Assert.Equal(0, MaintenanceSolicitations(h));
        h.Advance(100);
        Assert.Equal(1, MaintenanceSolicitations(h));
        Assert.Equal(1, h.Client.Counters[ClientCounter.RouterAdvertisementAccepted] - 3);
        Assert.Equal(h.Now, h.Client.LastServerInteractionMs);
        Assert.Empty(h.Events);
    }

    [Fact]
    public void The_randomized_interval_is_drawn_again_each_cycle_between_75_and_100_percent()
    {
        var h = new ClientHarness(NatBehaviour.FullCone, o => o with { RefreshIntervalMs = 10_000 });
        h.Qualify();
        var seen = new HashSet<long>();
        for (int cycle = 0; cycle < 40; cycle++)
        {
            long r = h.Client.RandomizedRefreshMs;
            Assert.InRange(r, 7_500, 10_000);
            seen.Add(r);
            long before = h.Now;
            int sent = MaintenanceSolicitations(h);
            while (MaintenanceSolicitations(h) == sent) h.Advance(10, 10);
            Assert.InRange(h.Now - before, r, r + 10);
        }
        Assert.True(seen.Count > 30, $"only {seen.Count} distinct intervals in 40 cycles");
    }

    [Fact]
    public void Traffic_from_the_server_postpones_the_solicitation()
    {
        var h = new ClientHarness(NatBehaviour.FullCone);
        h.Qualify();
        long r = h.Client.RandomizedRefreshMs;
        h.Advance(20_000);
        // An indirect bubble relayed by the server is an interaction with it (§5.2.3).
        var bubble = Packets.IndirectBubble(Packets.PeerAddress(), h.Client.Address.Address, new Ipv4Endpoint(new Ipv4Address(198, 18, 9, 9), 3544));
        h.Receive(new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544), bubble);
        Assert.Equal(20_000, h.Client.LastServerInteractionMs);
        h.Advance(r - 100);
        Assert.Equal(0, MaintenanceSolicitations(h));
        h.Advance(100);
        Assert.Equal(1, MaintenanceSolicitations(h));
    }

    [Fact]
    public void A_new_mapping_means_a_new_address_and_the_old_one_withdrawn()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted, o => o with { RefreshIntervalMs = 10_000 });
        h.Qualify();
        h.Advance(12_000); // NAT type settled
        h.Events.Clear();
        var old = h.Client.Address;
        h.Client.OnDatagram(h.Now, ClientPort.Service, Packets.Relay, Packets.Echo(Packets.Native, old.Address), h.Sink); // a peer known by the old address
        Assert.Equal(1, h.Client.Peers.Count);
        h.Nat.Flush();
        h.Advance(10_000);
        var changed = Assert.Single(h.Events, e => e.Kind == ClientEventKind.AddressChanged);
        Assert.Equal(old, changed.Previous);
        Assert.Equal(h.Client.Address, changed.Address);
        Assert.NotEqual(old.Mapped, h.Client.Address.Mapped);
        Assert.Equal(h.Client.Mapped, h.Client.Address.Mapped);
        Assert.Equal(old.Server, h.Client.Address.Server);
        Assert.Equal(1, h.Client.Counters[ClientCounter.AddressChanges]);
        // Peers proved their paths for the old address: all start over.
        Assert.Equal(0, h.Client.Peers.Count);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(new Ipv6Address(0xFE80_0000_0000_0000, h.Client.Address.Address.Lower), h.Client.LinkLocalAddress);
        // The old address no longer receives.
        var late = Packets.Bubble(Packets.PeerAddress(), old.Address);
        h.Client.OnDatagram(h.Now, ClientPort.Service, Packets.PeerMapping, late, h.Sink);
        Assert.Equal(1, h.Client.Counters[ClientCounter.UdpDropWrongDestination]);
    }

    [Fact]
    public void When_the_server_stops_answering_the_address_is_withdrawn_and_qualification_starts_over()
    {
        var h = new ClientHarness(NatBehaviour.FullCone, o => o with { RefreshIntervalMs = 10_000 });
        h.Qualify();
        var address = h.Client.Address;
        long r = h.Client.RandomizedRefreshMs;
        h.ServerUp = false;
        h.Advance(r + 11_999, stepMs: 1);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        h.Advance(1, stepMs: 1);
        var lost = Assert.Single(h.Events, e => e.Kind == ClientEventKind.AddressLost);
        Assert.Equal(address, lost.Previous);
        Assert.False(h.Client.HasAddress);
        Assert.Equal(ClientState.Starting, h.Client.State);
        Assert.Equal(1, h.Client.Counters[ClientCounter.ServerLosses]);
        h.Events.Clear();
        // The server comes back while we are starting: same mapping, same address (same random bits).
        h.ServerUp = true;
        h.Advance(4_000);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(address, h.Client.Address);
        Assert.Contains(h.Events, e => e.Kind == ClientEventKind.AddressAcquired && e.Address == address);
    }

    [Fact]
    public void A_server_gone_for_longer_leaves_the_client_off_line_until_it_returns()
    {
        var h = new ClientHarness(NatBehaviour.FullCone, o => o with { RefreshIntervalMs = 10_000, OfflineRetryMs = 20_000 });
        h.Qualify();
        h.ServerUp = false;
        h.Advance(h.Client.RandomizedRefreshMs + 12_000 + 12_000, stepMs: 1);
        Assert.Equal(ClientState.Offline, h.Client.State);
        int sent = h.ToServer.Count;
        h.Advance(19_999, stepMs: 1);
        Assert.Equal(sent, h.ToServer.Count);
        h.ServerUp = true;
        h.Advance(1, stepMs: 1);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(new[] { ClientState.Starting, ClientState.Offline, ClientState.Starting, ClientState.Qualified },
            h.Events.Where(e => e.Kind == ClientEventKind.StateChanged).Select(e => e.State).ToArray());
    }
}
