using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>The network model itself: routing through NATs, links, the clock and the IPv6 side.</summary>
public class SimulatedNetworkTests
{
    private static readonly Ipv4Address PublicAddress = new(198, 18, 0, 10);
    private static readonly Ipv4Address NatAddress = new(198, 18, 1, 1);
    private static readonly Ipv4Address Private = new(10, 1, 0, 2);

    private sealed class Inbox
    {
        public List<(long At, Ipv4Endpoint From, byte[] Payload)> Items { get; } = [];
        public Action<Ipv4Endpoint, byte[]> For(SimulatedNetwork network) => (from, payload) => Items.Add((network.NowMs, from, payload));
    }

    [Fact]
    public void A_datagram_leaves_through_the_NAT_with_its_mapping_and_the_answer_comes_back_in()
    {
        using var network = new SimulatedNetwork(link: new SimulatedLink(LatencyMs: 7));
        var nat = network.AddNat(new NatBox(NatKind.PortRestricted, NatAddress), new SimulatedLink(LatencyMs: 3));
        var server = network.AddHost("server", PublicAddress);
        var client = network.AddHostBehind(nat, "client", Private);
        Inbox atServer = new(), atClient = new();
        var serverSocket = server.Bind(3544, atServer.For(network));
        var clientSocket = client.Bind(50000, atClient.For(network));

        clientSocket.Send(serverSocket.Local, [1, 2, 3]);
        network.RunFor(100);
        var (at, from, payload) = Assert.Single(atServer.Items);
        Assert.Equal(10, at);
        Assert.Equal([1, 2, 3], payload);
        Assert.Equal(NatAddress, from.Address);
        Assert.True(nat.TryGetMapping(clientSocket.Local, serverSocket.Local, out var mapped));
        Assert.Equal(mapped, from);

        serverSocket.Send(from, [4]);
        network.RunFor(100);
        Assert.Equal(serverSocket.Local, Assert.Single(atClient.Items).From);
        Assert.All(network.Datagrams, d => Assert.Equal(DatagramFate.Delivered, d.Fate));
    }

    [Fact]
    public void The_NAT_refuses_strangers_and_private_addresses_are_not_routed_on_the_Internet()
    {
        using var network = new SimulatedNetwork();
        var nat = network.AddNat(new NatBox(NatKind.AddressRestricted, NatAddress));
        var server = network.AddHost("server", PublicAddress);
        var stranger = network.AddHost("stranger", new Ipv4Address(198, 18, 0, 99));
        var client = network.AddHostBehind(nat, "client", Private);
        var inbox = new Inbox();
        var clientSocket = client.Bind(50000, inbox.For(network));
        var serverSocket = server.Bind(3544, (_, _) => { });
        var strangerSocket = stranger.Bind(3544, (_, _) => { });
        clientSocket.Send(serverSocket.Local, [1]);
        network.RunFor(50);
        var mapped = network.Datagrams[0].PublicSource;

        strangerSocket.Send(mapped, [2]);
        serverSocket.Send(clientSocket.Local, [3]);
        serverSocket.Send(mapped with { Port = (ushort)(mapped.Port + 1) }, [4]);
        serverSocket.Send(new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 77), 1), [5]);
        network.RunFor(50);

        Assert.Empty(inbox.Items);
        Assert.Equal([DatagramFate.Delivered, DatagramFate.RefusedByNat, DatagramFate.NoRoute, DatagramFate.RefusedByNat, DatagramFate.NoRoute],
            network.Datagrams.Select(d => d.Fate!.Value));
        Assert.Equal(1, nat.Counters[NatCounter.InboundFiltered]);
        Assert.Equal(1, nat.Counters[NatCounter.InboundNoMapping]);
    }

    [Fact]
    public void Hosts_behind_one_NAT_reach_each_other_on_the_LAN_untranslated()
    {
        using var network = new SimulatedNetwork();
        var nat = network.AddNat(new NatBox(NatKind.Symmetric, NatAddress));
        var one = network.AddHostBehind(nat, "one", Private);
        var two = network.AddHostBehind(nat, "two", new Ipv4Address(10, 1, 0, 3));
        var inbox = new Inbox();
        var socketOne = one.Bind(50000, (_, _) => { });
        var socketTwo = two.Bind(50000, inbox.For(network));
        socketOne.Send(socketTwo.Local, [9]);
        network.RunFor(10);
        Assert.Equal(socketOne.Local, Assert.Single(inbox.Items).From);
        Assert.Equal(0, nat.Count);
    }

    [Fact]
    public void Loss_is_drawn_from_the_seed_so_a_run_repeats_and_the_extremes_hold()
    {
        static DatagramFate[] Run(int seed, double loss)
        {
            using var network = new SimulatedNetwork(seed, new SimulatedLink(LatencyMs: 1, Loss: loss));
            var a = network.AddHost("a", PublicAddress);
            var b = network.AddHost("b", new Ipv4Address(198, 18, 0, 11));
            var from = a.Bind(1, (_, _) => { });
            var to = b.Bind(2, (_, _) => { });
            for (int i = 0; i < 200; i++) from.Send(to.Local, [(byte)i]);
            network.RunFor(10);
            return network.Datagrams.Select(d => d.Fate!.Value).ToArray();
        }
        Assert.Equal(Run(42, 0.2), Run(42, 0.2));
        Assert.NotEqual(Run(42, 0.2), Run(43, 0.2));
        Assert.Contains(DatagramFate.Lost, Run(42, 0.2));
        Assert.Contains(DatagramFate.Delivered, Run(42, 0.2));
        Assert.All(Run(42, 0), f => Assert.Equal(DatagramFate.Delivered, f));
        Assert.All(Run(42, 1), f => Assert.Equal(DatagramFate.Lost, f));
    }

    private sealed class TickingNode(long periodMs) : ISimulatedNode
    {
        private readonly long _period = periodMs;

        public string Name => "ticker";
        public long NextDeadlineMs { get; private set; } = periodMs;
        public List<long> Ticks { get; } = [];

        public void OnTimer(long nowMs)
        {
            Ticks.Add(nowMs);
            NextDeadlineMs = nowMs + _period;
        }
    }

    [Fact]
    public void The_clock_jumps_from_deadline_to_deadline_and_stops_at_the_limit()
    {
        using var network = new SimulatedNetwork();
        var node = new TickingNode(30_000);
        network.AddNode(node);
        Assert.False(network.RunUntil(() => false, 100_000));
        Assert.Equal([30_000, 60_000, 90_000], node.Ticks);
        Assert.Equal(100_000, network.NowMs);
        Assert.True(network.RunUntil(() => node.Ticks.Count == 5, 100_000));
        Assert.Equal(150_000, network.NowMs);
    }

    [Fact]
    public void The_IPv6_Internet_routes_by_longest_prefix_and_a_host_answers_pings()
    {
        using var network = new SimulatedNetwork(link: new SimulatedLink(LatencyMs: 4));
        var internet = new Ipv6Internet(network);
        var wide = new Ipv6Host("wide", Ipv6Address.Parse("2001:db8::1")) { Uplink = internet };
        var narrow = new Ipv6Host("narrow", Ipv6Address.Parse("2001:db8:1::10")) { Uplink = internet };
        internet.Route(Ipv6Address.Parse("2001:db8::"), 32, wide);
        internet.Route(narrow.Address, 128, narrow);

        wide.Ping(narrow.Address, 7);
        wide.Ping(Ipv6Address.Parse("2001:db9::1"), 8);
        network.RunFor(100);

        Assert.True(wide.GotReply(narrow.Address, 7));
        Assert.Equal(1, narrow.EchoRequestsAnswered);
        Assert.Equal(2, internet.Counters[Ipv6InternetCounter.Forwarded]);
        Assert.Equal(1, internet.Counters[Ipv6InternetCounter.NoRoute]);
    }
}
