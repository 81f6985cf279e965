using Teredo.Addressing;
using Teredo.Client;
using Teredo.Common;
using Teredo.Net;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Client;

/// <summary>Local client discovery (§5.2.8) and refresh interval determination (§5.2.7): off by default, each tested on.</summary>
public class ClientOptionalProcedureTests
{
    private static readonly Ipv4Endpoint Neighbour = new(new Ipv4Address(10, 2, 0, 3), 50123);

    private static ClientHarness WithDiscovery()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted,
            o => o with { LocalDiscovery = true, LocalNetwork = (new Ipv4Address(10, 2, 0, 0), 24) });
        h.Start();
        return h;
    }

    /// <summary>A client on the same link, behind the same NAT (same mapped IPv4, another port).</summary>
    private static Ipv6Address NeighbourAddress(ClientHarness h) =>
        TeredoAddress.Create(ClientHarness.ServerPrimary, TeredoFlags.Create(false, 0x77), h.Client.Mapped with { Port = 40999 }).Address;

    private static byte[] DiscoveryBubble(Ipv6Address source)
    {
        var b = new byte[Bubble.Length];
        new Ipv6Header(source, Ipv6Address.AllNodes, IpProtocol.NoNextHeader, 0, 1).Emit(b);
        return b;
    }

    [Fact]
    public void Both_procedures_are_off_by_default()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted);
        h.Start();
        h.Advance(400_000);
        Assert.DoesNotContain(h.Others, p => p.To == TeredoClientEngine.DiscoveryEndpoint || p.Route == OutputRoute.UdpSecondary);
        Assert.Equal(RefreshDeterminationPhase.Off, h.Client.RefreshDetermination);
        h.Client.OnDatagram(h.Now, ClientPort.Discovery, Neighbour, DiscoveryBubble(NeighbourAddress(h)), h.Sink);
        Assert.Equal(1, h.Client.Counters[ClientCounter.DiscoveryBubbleDropped]);
        Assert.Equal(30_000, h.Client.RefreshIntervalMs);
    }

    [Fact]
    public void Discovery_bubbles_go_to_224_0_0_253_on_qualification_then_every_200_to_300_s()
    {
        var h = WithDiscovery();
        var first = Assert.Single(h.TakeOthers(), p => p.To == TeredoClientEngine.DiscoveryEndpoint);
        var ip = Packets.Parse(first.Bytes);
        Assert.True(ip.IsBubble);
        Assert.Equal((h.Client.Address.Address, Ipv6Address.AllNodes, (byte)1), (ip.Source, ip.Destination, ip.HopLimit));
        long last = h.Now;
        var gaps = new List<long>();
        while (h.Now < 2_000_000)
        {
            h.Advance(1_000, 1_000);
            if (h.TakeOthers().Any(p => p.To == TeredoClientEngine.DiscoveryEndpoint))
            {
                gaps.Add(h.Now - last);
                last = h.Now;
            }
        }
        Assert.True(gaps.Count >= 6);
        Assert.All(gaps, g => Assert.InRange(g, 200_000, 301_000));
        Assert.True(gaps.Distinct().Count() > 1);
    }

    [Fact]
    public void A_discovery_bubble_from_the_link_makes_a_local_peer_and_is_answered()
    {
        var h = WithDiscovery();
        h.TakeOthers();
        var neighbour = NeighbourAddress(h);
        h.Client.OnDatagram(h.Now, ClientPort.Discovery, Neighbour, DiscoveryBubble(neighbour), h.Sink);
        h.Pump();
        var answer = Assert.Single(h.TakeOthers());
        Assert.Equal(Neighbour, answer.To);
        Assert.True(ClientHarness.IsBubble(answer.Bytes, out var src, out var dst));
        Assert.Equal((h.Client.Address.Address, neighbour), (src, dst));
        var peer = h.Client.Peers.Find(neighbour)!;
        Assert.False(peer.Trusted);
        Assert.Equal(Neighbour, peer.LocalEndpoint);
        Assert.Equal(1, h.Client.Counters[ClientCounter.DiscoveryBubbleAccepted]);
    }

    [Theory]
    [InlineData("not from the local subnet")]
    [InlineData("another mapped address")]
    [InlineData("not to all-nodes")]
    [InlineData("our own")]
    [InlineData("not Teredo")]
    [InlineData("not a bubble")]
    public void Discovery_bubbles_failing_the_checks_are_discarded(string defect)
    {
        var h = WithDiscovery();
        h.TakeOthers();
        var from = Neighbour;
        var source = NeighbourAddress(h);
        byte[] packet = DiscoveryBubble(source);
        switch (defect)
        {
            case "not from the local subnet": from = new Ipv4Endpoint(new Ipv4Address(10, 9, 0, 3), 50123); break;
            case "another mapped address":
                packet = DiscoveryBubble(TeredoAddress.Create(ClientHarness.ServerPrimary, TeredoFlags.None, new Ipv4Endpoint(new Ipv4Address(198, 18, 7, 7), 1)).Address);
                break;
            case "not to all-nodes": packet = Packets.Bubble(source, h.Client.Address.Address); break;
            case "our own": packet = DiscoveryBubble(h.Client.Address.Address); break;
            case "not Teredo": packet = DiscoveryBubble(Ipv6Address.Parse("2001:db8::7")); break;
            case "not a bubble": packet = Packets.Echo(source, Ipv6Address.AllNodes); break;
        }
        h.Client.OnDatagram(h.Now, ClientPort.Discovery, from, packet, h.Sink);
        h.Pump();
        Assert.Equal(1, h.Client.Counters[ClientCounter.DiscoveryBubbleDropped]);
        Assert.Empty(h.TakeOthers());
    }

    [Fact]
    public void Packets_to_a_local_peer_go_over_the_link_once_it_answers_from_its_local_address()
    {
        var h = WithDiscovery();
        var neighbour = NeighbourAddress(h);
        h.Client.OnDatagram(h.Now, ClientPort.Discovery, Neighbour, DiscoveryBubble(neighbour), h.Sink);
        h.Pump();
        h.Advance(3_000);
        h.TakeOthers();
        // §5.2.4 case 3: queued; a unicast bubble to its local address and a local bubble to the group.
        var packet = Packets.Echo(h.Client.Address.Address, neighbour);
        h.FromTun(packet);
        var bubbles = h.TakeOthers();
        Assert.Contains(bubbles, p => p.To == Neighbour);
        Assert.Contains(bubbles, p => p.To == TeredoClientEngine.DiscoveryEndpoint);
        Assert.Equal(1, h.Client.Counters[ClientCounter.Queued]);
        // §5.2.3 case 5: its bubble from its local address (not its mapping) makes it trusted.
        h.Client.OnDatagram(h.Now, ClientPort.Service, Neighbour, Packets.Bubble(neighbour, h.Client.Address.Address), h.Sink);
        h.Pump();
        var released = Assert.Single(h.TakeOthers());
        Assert.Equal(Neighbour, released.To);
        Assert.Equal(packet, released.Bytes);
        Assert.True(h.Client.Peers.Find(neighbour)!.Trusted);
        // Then case 1 over the link, although 10.2.0.3 is not a global address.
        h.FromTun(packet);
        Assert.Equal(Neighbour, Assert.Single(h.TakeOthers()).To);
        var data = Packets.Echo(neighbour, h.Client.Address.Address, request: false);
        h.Client.OnDatagram(h.Now, ClientPort.Service, Neighbour, data, h.Sink);
        Assert.Equal(1, h.Client.Counters[ClientCounter.DeliveredFromTrustedPeer]);
    }

    private static ClientHarness WithDetermination()
    {
        var h = new ClientHarness(NatBehaviour.FullCone, o => o with { RefreshDetermination = true });
        h.Start();
        return h;
    }

    /// <summary>Delivers the determination bubble, as the secondary port would receive it when its mapping lives.</summary>
    private static bool DeliverProbe(ClientHarness h)
    {
        var probe = h.TakeOthers().LastOrDefault(p => p.To == h.Client.SecondaryPortAddress.Mapped);
        if (probe.Bytes is null) return false;
        h.Client.OnDatagram(h.Now, ClientPort.Secondary, h.Client.Mapped, probe.Bytes, h.Sink);
        h.Pump();
        return true;
    }

    [Fact]
    public void Determination_qualifies_the_secondary_port_and_raises_the_interval_while_its_mapping_survives()
    {
        var h = WithDetermination();
        Assert.Contains(h.ToServer, p => p.From.Port == h.Client.Mapped.Port); // service port
        Assert.Equal(RefreshDeterminationPhase.Waiting, h.Client.RefreshDetermination);
        Assert.NotEqual(h.Client.Mapped, h.Client.SecondaryPortAddress.Mapped);
        Assert.Equal(60_000, h.Client.CandidateRefreshIntervalMs);
        h.Advance(59_900);
        Assert.DoesNotContain(h.Others, p => p.To == h.Client.SecondaryPortAddress.Mapped);
        h.Advance(100);
        var probe = Assert.Single(h.Others, p => p.To == h.Client.SecondaryPortAddress.Mapped);
        Assert.True(ClientHarness.IsBubble(probe.Bytes, out var src, out var dst));
        Assert.Equal((h.Client.Address.Address, h.Client.SecondaryPortAddress.Address), (src, dst));
        Assert.True(DeliverProbe(h));
        Assert.Equal(60_000, h.Client.RefreshIntervalMs);
        Assert.Contains(h.Events, e => e.Kind == ClientEventKind.RefreshIntervalChanged && e.Value == 60_000);
        Assert.Equal(90_000, h.Client.CandidateRefreshIntervalMs);
        // Step 6: the secondary port is refreshed before the next candidate.
        Assert.Equal(RefreshDeterminationPhase.Waiting, h.Client.RefreshDetermination);
        h.Advance(90_000);
        Assert.True(DeliverProbe(h));
        Assert.Equal(90_000, h.Client.RefreshIntervalMs);
        // 90 s is 75 % of the 120 s maximum: concluded, the secondary port can be closed.
        Assert.Equal(RefreshDeterminationPhase.Done, h.Client.RefreshDetermination);
        Assert.Contains(h.Events, e => e.Kind == ClientEventKind.SecondaryPortDone && e.Value == 90_000);
        int secondary = h.ToServer.Count;
        h.Advance(600_000);
        Assert.Equal(0, h.Client.Counters[ClientCounter.SecondaryPortDropped]);
        Assert.DoesNotContain(h.Others, p => p.Route == OutputRoute.UdpSecondary);
        Assert.True(h.ToServer.Skip(secondary).All(p => p.From.Port == h.Client.Mapped.Port));
        // Maintenance now runs on the learned interval.
        Assert.InRange(h.Client.RandomizedRefreshMs, 67_500, 90_000);
    }

    [Fact]
    public void When_every_candidate_fails_the_maximum_comes_down_and_the_interval_stays()
    {
        var h = WithDetermination();
        var times = new List<long>();
        while (h.Client.RefreshDetermination != RefreshDeterminationPhase.Done && h.Now < 1_000_000)
        {
            h.Advance(500, 500);
            if (h.TakeOthers().Any(p => p.To == h.Client.SecondaryPortAddress.Mapped)) times.Add(h.Now);
        }
        Assert.Equal(RefreshDeterminationPhase.Done, h.Client.RefreshDetermination);
        Assert.Equal(30_000, h.Client.RefreshIntervalMs);
        Assert.Equal(37_500, h.Client.MaximumRefreshIntervalMs);
        // Three candidates (60, 45, 37.5 s), four bubbles each, 2 s apart.
        Assert.Equal(12, times.Count);
        Assert.Equal(60_000, times[0]);
        Assert.DoesNotContain(h.Events, e => e.Kind == ClientEventKind.RefreshIntervalChanged);
        Assert.Contains(h.Events, e => e.Kind == ClientEventKind.SecondaryPortDone && e.Value == 30_000);
    }

    [Fact]
    public void Anything_else_on_the_secondary_port_is_dropped()
    {
        var h = WithDetermination();
        h.Client.OnDatagram(h.Now, ClientPort.Secondary, Packets.PeerMapping, Packets.Bubble(Packets.PeerAddress(), h.Client.SecondaryPortAddress.Address), h.Sink);
        h.Client.OnDatagram(h.Now, ClientPort.Secondary, Packets.PeerMapping, Packets.Echo(Packets.PeerAddress(), h.Client.Address.Address), h.Sink);
        Assert.Equal(2, h.Client.Counters[ClientCounter.SecondaryPortDropped]);
        h.Pump();
        Assert.Empty(h.TakeOthers());
    }
}
