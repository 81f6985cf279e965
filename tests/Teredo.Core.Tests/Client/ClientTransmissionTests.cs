using Teredo.Addressing;
using Teredo.Client;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Client;

/// <summary>RFC 4380 §5.2.4 with §5.2.6's bubble limits and §5.2.9's connectivity test.</summary>
public class ClientTransmissionTests
{
    private static ClientHarness Qualified(Func<ClientOptions, ClientOptions>? configure = null)
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted, configure);
        h.Qualify();
        return h;
    }

    private static byte[] From(ClientHarness h, Ipv6Address to, ushort sequence = 1) => Packets.Echo(h.Client.Address.Address, to, sequence: sequence);

    [Fact]
    public void Case_1_a_trusted_peer_heard_within_30_s_gets_the_packet_directly()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        h.Client.OnDatagram(h.Now, ClientPort.Service, Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address), h.Sink);
        h.Advance(29_900);
        var packet = From(h, peer);
        h.FromTun(packet);
        var sent = Assert.Single(h.TakeOthers());
        Assert.Equal((OutputRoute.Udp, Packets.PeerMapping), (sent.Route, sent.To));
        Assert.Equal(packet, sent.Bytes);
        Assert.Equal(h.Now, h.Client.Peers.Find(peer)!.LastTransmitMs);
        // 30 s after the last reception the entry is no longer valid: bubbles again.
        h.Advance(100);
        h.FromTun(packet);
        Assert.Equal(1, h.Client.Counters[ClientCounter.SentToTrustedPeer]);
        Assert.Equal(1, h.Client.Counters[ClientCounter.Queued]);
        // ...but not within 2 s of the packet just sent to it (§5.2.6 counts any transmission).
        Assert.Empty(h.TakeOthers());
        h.Advance(1_900);
        Assert.Equal(2, h.TakeOthers().Count); // direct + indirect bubble
    }

    [Fact]
    public void Case_4_a_cone_peer_is_sent_to_at_its_embedded_mapping()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress(cone: true);
        var packet = From(h, peer);
        h.FromTun(packet);
        var sent = Assert.Single(h.TakeOthers());
        Assert.Equal(Packets.PeerMapping, sent.To);
        Assert.Equal(packet, sent.Bytes);
        Assert.Equal(1, h.Client.Counters[ClientCounter.SentToConePeer]);
        Assert.Null(h.Client.Peers.Find(peer));
    }

    [Fact]
    public void Ignoring_the_cone_bit_treats_a_cone_peer_as_case_5()
    {
        var h = Qualified(o => o with { IgnoreConeBit = true });
        h.FromTun(From(h, Packets.PeerAddress(cone: true)));
        Assert.Equal(1, h.Client.Counters[ClientCounter.Queued]);
        Assert.Equal(2, h.TakeOthers().Count);
    }

    [Theory]
    [InlineData("192.168.1.1")]
    [InlineData("224.0.0.1")]
    public void Case_5_refuses_a_peer_whose_server_is_not_global(string server)
    {
        var h = Qualified();
        h.FromTun(From(h, Packets.PeerAddress(false, Packets.PeerMapping, Ipv4Address.Parse(server))));
        Assert.Equal(1, h.Client.Counters[ClientCounter.TunDropServerNotGlobal]);
        Assert.Empty(h.TakeOthers());
        Assert.Equal(0, h.Client.Peers.Count);
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("224.0.0.1")]
    [InlineData("127.255.255.255")]
    public void A_peer_with_a_non_global_mapping_is_knocked_through_its_server_only_and_never_sent_to_there(string mapped)
    {
        var h = Qualified();
        var mapping = new Ipv4Endpoint(Ipv4Address.Parse(mapped), 1000);
        foreach (bool cone in new[] { true, false })
        {
            var peer = Packets.PeerAddress(cone, mapping);
            var packet = From(h, peer);
            h.FromTun(packet);
            h.Advance(7_000);
            var knocks = h.TakeOthers();
            AssertAllGlobal(knocks);
            Assert.Equal(4, knocks.Count); // the indirect bubble and its three repetitions, no direct one
            Assert.All(knocks, k => Assert.Equal(new Ipv4Endpoint(Packets.PeerServer, 3544), k.To));

            // The answer to the nonce from a global socket releases the packet there.
            AnswerNonceFrom(h, peer, new Ipv4Endpoint(new Ipv4Address(198, 18, 6, cone ? (byte)1 : (byte)2), 6000), packet);
        }
        AssertCounters(h, (ClientCounter.ConeMappingNotGlobal, 1), (ClientCounter.DirectBubblesSkippedNotGlobal, 8),
            (ClientCounter.SentToConePeer, 0), (ClientCounter.SendRefusedNotGlobal, 0));
    }

    /// <summary>Issue 16 for the client: every T(D) of a coordinator's /64, whatever "mapping" it seems to embed.</summary>
    [Fact]
    public void Every_coordinator_destination_is_bubbled_through_the_coordinator_and_released_to_the_proven_socket()
    {
        var h = Qualified();
        int[] notGlobal = [0, .. Enumerable.Range(16, 16), 128, 245, 255];
        for (int last = 0; last < 256; last++)
        {
            var target = CoordinatorAddress.Dynamic(Packets.PeerServer, new Ipv4Address(198, 18, 0, (byte)last)).ToIpv6();
            var owner = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 1), (ushort)(20000 + last));
            var packet = From(h, target, (ushort)last);
            h.FromTun(packet);
            var knocks = h.TakeOthers();
            AssertAllGlobal(knocks);
            var indirect = Assert.Single(knocks, k => k.To == new Ipv4Endpoint(Packets.PeerServer, 3544));
            Assert.True(ClientHarness.IsBubble(indirect.Bytes, out var source, out var destination));
            Assert.Equal((h.Client.NonceAddress(target), target), (source, destination));
            Assert.Equal(notGlobal.Contains(last) ? 1 : 2, knocks.Count);
            AnswerNonceFrom(h, target, owner, packet);
        }
        AssertCounters(h, (ClientCounter.Queued, 256), (ClientCounter.NonceBubbleAccepted, 256), (ClientCounter.QueueReleased, 256),
            (ClientCounter.DirectBubblesSkippedNotGlobal, 20), (ClientCounter.TunDropServerNotGlobal, 0), (ClientCounter.SendRefusedNotGlobal, 0));
    }

    /// <summary>DESIGN.md §B.6 for the client: a nonce-proven bubble from a new socket re-maps a trusted peer.</summary>
    [Fact]
    public void A_nonce_proven_bubble_from_a_new_socket_re_maps_a_trusted_peer()
    {
        var h = Qualified();
        var target = CoordinatorAddress.Dynamic(Packets.PeerServer, new Ipv4Address(198, 18, 0, 128)).ToIpv6();
        var oldOwner = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 1), 61000);
        var newOwner = new Ipv4Endpoint(new Ipv4Address(198, 18, 4, 1), 62000);
        var packet = From(h, target);
        h.FromTun(packet);
        h.TakeOthers();
        AnswerNonceFrom(h, target, oldOwner, packet);
        h.Advance(1_000);
        h.Client.OnDatagram(h.Now, ClientPort.Service, newOwner, Packets.Bubble(target, h.Client.NonceAddress(target)), h.Sink);
        Assert.Equal(newOwner, h.Client.Peers.Find(target)!.Mapped);
        h.FromTun(packet);
        var moved = Assert.Single(h.TakeOthers());
        Assert.Equal(newOwner, moved.To);
        Assert.Equal(packet, moved.Bytes);
        Assert.Equal(2, h.Client.Counters[ClientCounter.NonceBubbleAccepted]);
        Assert.Equal(1, h.Client.Counters[ClientCounter.SentToTrustedPeer]);
    }

    [Fact]
    public void A_packet_from_a_non_global_source_is_never_learned_as_a_mapping()
    {
        var h = Qualified();
        var privateMapping = new Ipv4Endpoint(new Ipv4Address(10, 9, 9, 9), 9000);
        var peer = Packets.PeerAddress(false, privateMapping);
        // Its embedded mapping matches the source (case 3), but the client may not send there.
        h.Client.OnDatagram(h.Now, ClientPort.Service, privateMapping, Packets.Echo(peer, h.Client.Address.Address), h.Sink);
        Assert.Equal(1, h.Client.Counters[ClientCounter.DeliveredUnverified]);
        Assert.Equal(1, h.Client.Counters[ClientCounter.SourceNotGlobalNotLearned]);
        Assert.False(h.Client.Peers.Find(peer) is { Trusted: true });
        h.FromTun(From(h, peer));
        var knocks = h.TakeOthers().Where(p => p.Route == OutputRoute.Udp).ToList();
        Assert.Equal(new Ipv4Endpoint(Packets.PeerServer, 3544), Assert.Single(knocks).To);
        Assert.Equal(0, h.Client.Counters[ClientCounter.SendRefusedNotGlobal]);
    }

    /// <summary>The peer answers our nonce from <paramref name="socket"/>: the packet queued for it goes there.</summary>
    private static void AnswerNonceFrom(ClientHarness h, Ipv6Address peer, Ipv4Endpoint socket, byte[] queued)
    {
        h.Client.OnDatagram(h.Now, ClientPort.Service, socket, Packets.Bubble(peer, h.Client.NonceAddress(peer)), h.Sink);
        h.Pump();
        var released = Assert.Single(h.TakeOthers());
        Assert.Equal(socket, released.To);
        Assert.Equal(queued, released.Bytes);
    }

    /// <summary>Several counters at once, so that a failure shows them all.</summary>
    private static void AssertCounters(ClientHarness h, params (ClientCounter Counter, long Value)[] expected) =>
        Assert.Equal(expected, expected.Select(e => (e.Counter, h.Client.Counters[e.Counter])).ToArray());

    private static void AssertAllGlobal(IEnumerable<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> sent)
    {
        foreach (var p in sent)
            if (p.Route != OutputRoute.Tun) Assert.True(Ipv4Classification.IsTeredoGlobalUnicast(p.To.Address), $"sent to {p.To}");
    }

    [Fact]
    public void Case_5_queues_bubbles_every_2_s_three_more_times_then_answers_unreachable()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        var packet = From(h, peer);
        h.FromTun(packet);
        long start = h.Now;
        var first = h.TakeOthers();
        Assert.Equal(2, first.Count);
        Assert.Equal(1, h.Client.Peers.Find(peer)!.QueuedPackets);
        var times = new List<long>();
        for (int i = 0; i < 100 && h.Client.Peers.Find(peer)!.Pending; i++)
        {
            h.Advance(100);
            var sent = h.TakeOthers();
            if (sent.Count(p => p.Route == OutputRoute.Udp) == 2) times.Add(h.Now - start);
            if (sent.Any(p => p.Route == OutputRoute.Tun))
            {
                var error = Packets.Parse(Assert.Single(sent, p => p.Route == OutputRoute.Tun).Bytes);
                Assert.True(Icmpv6Packet.TryParse(error, out var icmp));
                Assert.Equal((Icmpv6Type.DestinationUnreachable, (byte)UnreachableCode.AddressUnreachable), (icmp.Type, icmp.Code));
                Assert.Equal(h.Client.Address.Address, error.Destination);
                Assert.True(error.Source.IsLinkLocal);
                Assert.True(icmp.VerifyChecksum(error.Source, error.Destination));
                Assert.Equal(8_000, h.Now - start);
            }
        }
        Assert.Equal(new long[] { 2_000, 4_000, 6_000 }, times);
        Assert.Equal(1, h.Client.Counters[ClientCounter.PeersGivenUp]);
        Assert.Equal(1, h.Client.Counters[ClientCounter.UnreachableSent]);
        Assert.Equal(4, h.Client.Peers.Find(peer)!.BubblesSent);
    }

    [Fact]
    public void After_4_bubbles_in_300_s_without_an_answer_no_more_bubbles_go_to_that_peer()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        h.FromTun(From(h, peer));
        h.Advance(10_000);
        h.TakeOthers();
        h.FromTun(From(h, peer, 2));
        Assert.Equal(1, h.Client.Counters[ClientCounter.TunDropBubbleLimit]);
        Assert.Empty(h.TakeOthers());
        // The window slides: 300 s after the first bubble, one more is allowed.
        h.Advance(290_000 - 100);
        h.FromTun(From(h, peer, 3));
        Assert.Equal(2, h.Client.Counters[ClientCounter.TunDropBubbleLimit]);
        h.Advance(100);
        h.FromTun(From(h, peer, 4));
        Assert.Equal(1, h.TakeOthers().Count(p => p.To == Packets.PeerMapping));
    }

    [Fact]
    public void A_direct_answer_lifts_the_bubble_limit()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        h.FromTun(From(h, peer));
        h.Advance(10_000);
        h.Client.OnDatagram(h.Now, ClientPort.Service, Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address), h.Sink);
        Assert.Equal(0, h.Client.Peers.Find(peer)!.Bubbles.CountSince(0));
        h.Advance(40_000);
        h.TakeOthers();
        h.FromTun(From(h, peer, 2));
        Assert.Equal(2, h.TakeOthers().Count);
    }

    [Fact]
    public void No_bubble_within_2_s_of_the_last_transmission_to_the_peer()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        // The peer knocks through our server; we answer with a direct bubble at t.
        h.Client.OnDatagram(h.Now, ClientPort.Service, new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544),
            Packets.IndirectBubble(peer, h.Client.Address.Address, Packets.PeerMapping), h.Sink);
        h.Pump();
        long t = h.Now;
        h.TakeOthers();
        h.Advance(500);
        h.FromTun(From(h, peer));
        Assert.Empty(h.TakeOthers());
        Assert.True(h.Client.Peers.Find(peer)!.Pending);
        h.Advance(t + 2_000 - h.Now, stepMs: 10);
        Assert.Equal(2, h.TakeOthers().Count);
    }

    [Fact]
    public void Case_2_the_connectivity_test_repeats_every_2_s_then_gives_up_and_forgets_the_destination()
    {
        var h = Qualified();
        h.FromTun(From(h, Packets.Native));
        ulong nonce = h.Client.Peers.Find(Packets.Native)!.Nonce;
        Assert.NotEqual(0ul, nonce);
        h.Advance(7_900);
        var tests = h.ToServer.Where(p => Packets.DestinationOf(p.Bytes) == Packets.Native).ToList();
        Assert.Equal(4, tests.Count);
        Assert.All(tests, t => Assert.Equal(nonce, Packets.NonceOf(t.Bytes)));
        Assert.All(tests, t => Assert.Equal(ClientHarness.ServerPrimary, t.To.Address));
        h.Advance(100);
        Assert.Equal(1, h.Client.Counters[ClientCounter.UnreachableSent]);
        Assert.Null(h.Client.Peers.Find(Packets.Native));
        Assert.Equal(4, h.Client.Counters[ClientCounter.EchoTestsSent]);
    }

    [Fact]
    public void Queues_and_the_peer_list_are_bounded()
    {
        var h = Qualified(o => o with { MaxQueuedPerPeer = 2, PeerCapacity = 3 });
        var peer = Packets.PeerAddress();
        for (ushort i = 0; i < 3; i++) h.FromTun(From(h, peer, i));
        Assert.Equal(2, h.Client.Counters[ClientCounter.Queued]);
        Assert.Equal(1, h.Client.Counters[ClientCounter.TunDropQueueFull]);
        for (byte i = 1; i <= 5; i++)
            h.FromTun(From(h, Ipv6Address.Parse($"2001:db8:2::{i}")));
        Assert.Equal(3, h.Client.Peers.Count);
        Assert.Equal(3, h.Client.Peers.Evictions);
        Assert.Null(h.Client.Peers.Find(peer));
        Assert.Equal(0, h.Client.Peers.QueuedBytes - 3 * From(h, Packets.Native).Length);
    }

    [Fact]
    public void Only_our_own_unicast_traffic_leaves_and_only_when_qualified()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted) { ServerUp = false };
        h.Start();
        h.Client.OnDevicePacket(h.Now, TeredoClientEngine.TunDevice, Packets.Echo(Ipv6Address.Parse("2001:0:c612:a::1"), Packets.Native), h.Sink);
        Assert.Equal(1, h.Client.Counters[ClientCounter.TunDropNotQualified]);

        var q = Qualified();
        q.FromTun(Packets.Echo(Ipv6Address.Parse("2001:db8::5"), Packets.Native));
        q.FromTun(Packets.Echo(q.Client.Address.Address, Ipv6Address.Parse("ff02::16")));
        q.FromTun(Packets.Echo(q.Client.Address.Address, Ipv6Address.Parse("fe80::1")));
        q.FromTun(new byte[] { 0x60, 0, 0, 0, 0, 8 });
        q.FromTun(Packets.Echo(q.Client.Address.Address, Packets.Native).Concat(new byte[3]).ToArray());
        Assert.Equal(1, q.Client.Counters[ClientCounter.TunDropSourceNotOurs]);
        Assert.Equal(2, q.Client.Counters[ClientCounter.TunDropNotUnicast]);
        Assert.Equal(2, q.Client.Counters[ClientCounter.TunDropMalformed]);
        Assert.Empty(q.TakeOthers());
        Assert.Equal(q.Client.Counters[ClientCounter.TunReceived], q.Client.Counters.TunOutcomeSum);
    }

    [Theory]
    [InlineData(NatBehaviour.PortRestricted, NatBehaviour.PortRestricted)]
    [InlineData(NatBehaviour.FullCone, NatBehaviour.PortRestricted)]
    [InlineData(NatBehaviour.PortRestricted, NatBehaviour.FullCone)]
    public void Two_clients_behind_NATs_reach_each_other_directly_after_bubbles(NatBehaviour natA, NatBehaviour natB)
    {
        var net = new TwoClientNetwork(natA, natB);
        net.Start();
        var (a, b) = (net.A.Engine, net.B.Engine);
        Assert.Equal((ClientState.Qualified, ClientState.Qualified), (a.State, b.State));

        var request = Packets.Echo(a.Address.Address, b.Address.Address);
        a.OnDevicePacket(net.Now, TeredoClientEngine.TunDevice, request, net.A.Sink);
        net.Run(3_000);
        Assert.Equal(request, Assert.Single(net.B.Tun));
        // The answer goes straight back: B trusts A from the packet it received.
        var reply = Packets.Echo(b.Address.Address, a.Address.Address, request: false);
        b.OnDevicePacket(net.Now, TeredoClientEngine.TunDevice, reply, net.B.Sink);
        net.Run(100);
        Assert.Equal(reply, Assert.Single(net.A.Tun));
        Assert.Equal(1, b.Counters[ClientCounter.SentToTrustedPeer]);
        // Data never went through the server: it only carried bubbles and solicitations.
        Assert.Equal(0, net.Server.Counters[Teredo.Server.ServerCounter.DropNotBubbleOrIcmpv6]);
        Assert.True(a.Peers.Find(b.Address.Address)!.Trusted);
        Assert.True(b.Peers.Find(a.Address.Address)!.Trusted);
    }

    /// <summary>Two client engines, each behind its own simulated NAT, and one server engine between them.</summary>
    private sealed class TwoClientNetwork
    {
        public sealed record Node(TeredoClientEngine Engine, SimulatedNat Nat, ListSink Sink, List<byte[]> Tun);

        private readonly CapturedAnswer _output = new();
        private readonly Ipv4Endpoint _primary = new(ClientHarness.ServerPrimary, 3544);
        private readonly Ipv4Endpoint _secondary = new(ClientHarness.ServerSecondary, 3544);

        public TwoClientNetwork(NatBehaviour a, NatBehaviour b)
        {
            var options = new ClientOptions { Server = ClientHarness.ServerPrimary };
            A = new Node(new TeredoClientEngine(options, new ScriptedRandom(1)), new SimulatedNat(a, new Ipv4Address(198, 18, 2, 1)), new ListSink(), []);
            B = new Node(new TeredoClientEngine(options, new ScriptedRandom(2)), new SimulatedNat(b, new Ipv4Address(198, 18, 4, 1)), new ListSink(), []);
        }

        public Node A { get; }
        public Node B { get; }
        public Teredo.Server.TeredoServerEngine Server { get; } = new(new Teredo.Server.ServerOptions { Primary = ClientHarness.ServerPrimary });
        public long Now { get; private set; }

        public void Start()
        {
            A.Engine.Start(Now, A.Sink);
            B.Engine.Start(Now, B.Sink);
            Pump();
        }

        public void Run(long ms)
        {
            for (long end = Now + ms; Now < end;)
            {
                Now += 100;
                A.Engine.OnTimer(Now, A.Sink);
                B.Engine.OnTimer(Now, B.Sink);
                Pump();
            }
        }

        private void Pump()
        {
            for (int round = 0; round < 20; round++)
            {
                bool any = false;
                foreach (var node in new[] { A, B })
                {
                    foreach (var (route, to, bytes) in node.Sink.Take())
                    {
                        any = true;
                        if (route == OutputRoute.Tun) node.Tun.Add(bytes);
                        else Route(node.Nat.Outbound(ClientHarness.Local, to), to, bytes);
                    }
                }
                if (!any) return;
            }
        }

        private void Route(Ipv4Endpoint from, Ipv4Endpoint to, byte[] bytes)
        {
            if (to == _primary || to == _secondary)
            {
                var result = Server.Answer(_output, Now, to == _primary ? TeredoServerEngine.PrimaryPort : TeredoServerEngine.SecondaryPort, from, bytes);
                if (result.Kind == AnswerKind.Udp)
                    Route(result.From == TeredoServerEngine.PrimaryPort ? _primary : _secondary, result.To, _output.Buffer[..result.Length]);
                return;
            }
            foreach (var node in new[] { A, B })
                if (node.Nat.PublicAddress == to.Address && node.Nat.Inbound(from, to))
                    node.Engine.OnDatagram(Now, ClientPort.Service, from, bytes, node.Sink);
        }
    }
}
