using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Relay;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Relay;

public class TeredoRelayEngineTests
{
    private static readonly Ipv4Address Server = new(198, 18, 0, 10);
    private static readonly Ipv4Endpoint ClientMapping = new(new Ipv4Address(198, 18, 2, 1), 40000);
    private static readonly Ipv6Address Client = TeredoAddress.Create(Server, TeredoFlags.None, ClientMapping).Address;
    private static readonly Ipv6Address Native = Ipv6Address.Parse("2001:db8:1::100");
    private static readonly Ipv6Address RelayOwn = Ipv6Address.Parse("2001:db8:1::20");
    private static readonly Ipv4Address Coordinator = new(198, 18, 0, 30);
    private readonly ListSink _sink = new();

    /// <summary>T(D) in <see cref="Coordinator"/>'s /64 for D = 198.18.0.<paramref name="last"/> (DESIGN.md §B.1).</summary>
    private static Ipv6Address CoordinatorTarget(int last) =>
        CoordinatorAddress.Dynamic(Coordinator, new Ipv4Address(198, 18, 0, (byte)last)).ToIpv6();

    private static TeredoRelayEngine Engine(RelayOptions? options = null) =>
        new(options ?? new RelayOptions { OwnAddress = RelayOwn, NonceKey = new byte[32] });

    private static byte[] Echo(Ipv6Address src, Ipv6Address dst, ushort sequence = 1)
    {
        var p = new byte[56];
        Icmpv6Echo.Emit(p, src, dst, true, 7, sequence, new byte[8]);
        return p;
    }

    private static byte[] BubbleFrom(Ipv6Address src, Ipv6Address dst)
    {
        var b = new byte[Bubble.Length];
        Bubble.Emit(b, src, dst);
        return b;
    }

    [Fact]
    public void Non_cone_peer_is_queued_bubbled_through_its_server_then_released()
    {
        var relay = Engine();
        var packet = Echo(Native, Client);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, packet, _sink);
        var sent = Assert.Single(_sink.Take());
        Assert.Equal(OutputRoute.Udp, sent.Route);
        Assert.Equal(new Ipv4Endpoint(Server, 3544), sent.To);
        Assert.True(Ipv6Packet.TryParse(sent.Bytes, out var bubble) && bubble.IsBubble);
        Assert.Equal(Client, bubble.Destination);
        Assert.Equal(relay.NonceAddress(Client), bubble.Source);
        Assert.True(bubble.Source.IsLinkLocal);
        Assert.Equal(1, relay.Peers.Find(Client)!.QueuedPackets);

        // The client's direct bubble, from its embedded mapping, to the nonce address.
        relay.OnDatagram(100, TeredoRelayEngine.UdpPort, ClientMapping, BubbleFrom(Client, bubble.Source), _sink);
        var released = Assert.Single(_sink.Take());
        Assert.Equal((OutputRoute.Udp, ClientMapping), (released.Route, released.To));
        Assert.Equal(packet, released.Bytes);
        Assert.True(relay.Peers.Find(Client)!.Trusted);

        // Now trusted: straight through.
        relay.OnDevicePacket(200, TeredoRelayEngine.TunDevice, packet, _sink);
        Assert.Equal(ClientMapping, Assert.Single(_sink.Take()).To);
        Assert.Equal(1, relay.Counters[RelayCounter.SentToTrustedPeer]);
    }

    [Fact]
    public void Answer_to_the_nonce_from_another_socket_is_accepted_and_the_mapping_learned()
    {
        // DESIGN.md §B.2 step 4: a P2P IPv4 peer answers for T(D) from its own socket.
        var target = CoordinatorTarget(100);
        var realSocket = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 1), 61000);
        var relay = Engine();
        var packet = Echo(Native, target);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, packet, _sink);
        var bubble = Assert.Single(_sink.Take());
        Assert.Equal(new Ipv4Endpoint(Coordinator, 3544), bubble.To);

        relay.OnDatagram(50, TeredoRelayEngine.UdpPort, realSocket, BubbleFrom(target, relay.NonceAddress(target)), _sink);
        var released = Assert.Single(_sink.Take());
        Assert.Equal(realSocket, released.To);
        Assert.Equal(1, relay.Counters[RelayCounter.MismatchAcceptedByNonce]);

        // Data from the learned socket flows to the native host; from elsewhere it does not.
        var reply = Echo(target, Native);
        relay.OnDatagram(60, TeredoRelayEngine.UdpPort, realSocket, reply, _sink);
        Assert.Equal(OutputRoute.Tun, Assert.Single(_sink.Take()).Route);
        relay.OnDatagram(70, TeredoRelayEngine.UdpPort, new Ipv4Endpoint(new Ipv4Address(198, 18, 9, 9), 1), reply, _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropMappingMismatch]);
        relay.OnDevicePacket(80, TeredoRelayEngine.TunDevice, packet, _sink);
        Assert.Equal(realSocket, Assert.Single(_sink.Take()).To);
    }

    [Fact]
    public void Mismatched_bubble_without_the_nonce_is_dropped()
    {
        var relay = Engine();
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, Client), _sink);
        _sink.Take();
        relay.OnDatagram(10, TeredoRelayEngine.UdpPort, new Ipv4Endpoint(new Ipv4Address(198, 18, 7, 7), 7), BubbleFrom(Client, Ipv6Address.Parse("fe80::1")), _sink);
        Assert.Empty(_sink.Take());
        Assert.False(relay.Peers.Find(Client)!.Trusted);
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropMappingMismatch]);
    }

    [Fact]
    public void Cone_peer_is_sent_to_directly()
    {
        var relay = Engine();
        var cone = TeredoAddress.Create(Server, TeredoFlags.Cone, ClientMapping).Address;
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, cone), _sink);
        var sent = Assert.Single(_sink.Take());
        Assert.Equal(ClientMapping, sent.To);
        Assert.False(Ipv6Packet.TryParse(sent.Bytes, out var p) && p.IsBubble);

        var ignoring = Engine(new RelayOptions { IgnoreConeBit = true, NonceKey = new byte[32] });
        ignoring.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, cone), _sink);
        Assert.Equal(new Ipv4Endpoint(Server, 3544), Assert.Single(_sink.Take()).To);
    }

    [Fact]
    public void Behind_a_nat_the_relay_also_bubbles_directly()
    {
        var relay = Engine(new RelayOptions { BehindNat = true, NonceKey = new byte[32] });
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, Client), _sink);
        var sent = _sink.Take();
        Assert.Equal(2, sent.Count);
        Assert.Contains(sent, p => p.To == ClientMapping);
        Assert.Contains(sent, p => p.To == new Ipv4Endpoint(Server, 3544));
    }

    [Fact]
    public void Bubbles_repeat_every_2s_three_times_then_the_sender_gets_unreachable()
    {
        var relay = Engine();
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, Client), _sink);
        relay.OnDevicePacket(10, TeredoRelayEngine.TunDevice, Echo(Native, Client, 2), _sink);
        Assert.Single(_sink.Take()); // one bubble for both packets
        for (long t = 100; t <= 7900; t += 100) relay.OnTimer(t, _sink);
        Assert.Equal(3, _sink.Take().Count);
        relay.OnTimer(8000, _sink);
        var errors = _sink.Take();
        Assert.Equal(2, errors.Count);
        foreach (var e in errors)
        {
            Assert.Equal(OutputRoute.Tun, e.Route);
            Assert.True(Ipv6Packet.TryParse(e.Bytes, out var ip));
            Assert.Equal(RelayOwn, ip.Source);
            Assert.Equal(Native, ip.Destination);
            Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
            Assert.True(Icmpv6DestinationUnreachable.TryParse(icmp, out var code, out _));
            Assert.Equal(UnreachableCode.AddressUnreachable, code);
            Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        }
        Assert.Null(relay.Peers.Find(Client));
        Assert.Equal(0, relay.Peers.QueuedBytes);
    }

    [Fact]
    public void Client_initiated_traffic_is_forwarded_only_to_served_destinations()
    {
        var relay = Engine();
        relay.OnDatagram(0, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, Native), _sink);
        Assert.Equal(OutputRoute.Tun, Assert.Single(_sink.Take()).Route);
        relay.OnDatagram(0, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, TeredoAddress.Create(Server, TeredoFlags.None, new(new Ipv4Address(198, 18, 5, 5), 1)).Address), _sink);
        relay.OnDatagram(0, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, Ipv6Address.Parse("ff02::1")), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(2, relay.Counters[RelayCounter.UdpDropDestinationNotServed]);

        var hostSpecific = Engine(new RelayOptions { ServedAddresses = new HashSet<Ipv6Address> { RelayOwn }, NonceKey = new byte[32] });
        hostSpecific.OnDatagram(0, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, Native), _sink);
        Assert.Empty(_sink.Take());
        hostSpecific.OnDatagram(0, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, RelayOwn), _sink);
        Assert.Single(_sink.Take());
        // ... and only the host's own packets go the other way.
        hostSpecific.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, Client), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(1, hostSpecific.Counters[RelayCounter.TunDropSourceNotServed]);
        hostSpecific.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(RelayOwn, Client), _sink);
        Assert.Single(_sink.Take());
    }

    [Theory]
    [InlineData("2001:db8::1")] // not Teredo
    [InlineData("2001:0:c0a8:101:0:f7ff:f5ff:fffe")] // server 192.168.1.1: the indirect bubble has nowhere to go
    [InlineData("2001:0:e000:1:0:f7ff:f5ff:fffe")] // server 224.0.0.1
    public void Tun_packets_the_relay_cannot_send_are_dropped(string destination)
    {
        var relay = Engine();
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, Ipv6Address.Parse(destination)), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(0, relay.Peers.Count);
    }

    /// <summary>
    /// Issue 16: T(D) of the P2P plan read as a Teredo address embeds the "mapping" (255 - D[3]).255.255.255,
    /// which is not global unicast for 20 of the 256 values of D's last octet (0, 16-31, 128, 245, 255).
    /// Every one is reached through the coordinator all the same, and nothing leaves toward such an address.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_coordinator_destination_is_bubbled_through_the_coordinator_and_released_to_the_proven_socket(bool behindNat)
    {
        var relay = Engine(new RelayOptions { BehindNat = behindNat, NonceKey = new byte[32] });
        int[] notGlobal = [0, .. Enumerable.Range(16, 16), 128, 245, 255];
        for (int last = 0; last < 256; last++)
        {
            var target = CoordinatorTarget(last);
            var owner = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 1), (ushort)(20000 + last));
            var packet = Echo(Native, target, (ushort)last);
            relay.OnDevicePacket(last * 10, TeredoRelayEngine.TunDevice, packet, _sink);
            var knocks = _sink.Take();
            AssertAllGlobal(knocks);
            var indirect = Assert.Single(knocks, p => p.To == new Ipv4Endpoint(Coordinator, 3544));
            Assert.True(Ipv6Packet.TryParse(indirect.Bytes, out var bubble) && bubble.IsBubble);
            Assert.Equal((relay.NonceAddress(target), target), (bubble.Source, bubble.Destination));
            bool mappedGlobal = !notGlobal.Contains(last);
            Assert.Equal(behindNat && mappedGlobal ? 2 : 1, knocks.Count);
            Assert.Equal(1, relay.Peers.Find(target)!.QueuedPackets);

            relay.OnDatagram(last * 10 + 1, TeredoRelayEngine.UdpPort, owner, BubbleFrom(target, relay.NonceAddress(target)), _sink);
            var released = Assert.Single(_sink.Take());
            Assert.Equal((OutputRoute.Udp, owner), (released.Route, released.To));
            Assert.Equal(packet, released.Bytes);
        }
        Assert.Equal(256, relay.Counters[RelayCounter.Queued]);
        Assert.Equal(256, relay.Counters[RelayCounter.QueueReleased]);
        Assert.Equal(256, relay.Counters[RelayCounter.MismatchAcceptedByNonce]);
        Assert.Equal(behindNat ? 20 : 0, relay.Counters[RelayCounter.DirectBubblesSkippedNotGlobal]);
        Assert.Equal(0, relay.Counters[RelayCounter.TunDropServerNotGlobal]);
        Assert.Equal(0, relay.Counters[RelayCounter.SendRefusedNotGlobal]);
    }

    [Fact]
    public void A_cone_destination_with_a_non_global_mapping_goes_through_its_server_and_never_to_that_mapping()
    {
        var relay = Engine(new RelayOptions { BehindNat = true, NonceKey = new byte[32] });
        var privateMapping = new Ipv4Endpoint(new Ipv4Address(10, 1, 2, 3), 1000);
        var cone = TeredoAddress.Create(Server, TeredoFlags.Cone, privateMapping).Address;
        var packet = Echo(Native, cone);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, packet, _sink);
        relay.OnDevicePacket(10, TeredoRelayEngine.TunDevice, Echo(Native, cone, 2), _sink);
        for (long t = 100; t <= 6000; t += 100) relay.OnTimer(t, _sink);
        var knocks = _sink.Take();
        AssertAllGlobal(knocks);
        Assert.Equal(4, knocks.Count); // the first bubble and its repetitions at 2, 4 and 6 s, all to the server
        Assert.All(knocks, p => Assert.Equal(new Ipv4Endpoint(Server, 3544), p.To));
        Assert.Equal(2, relay.Counters[RelayCounter.ConeMappingNotGlobal]);
        Assert.Equal(4, relay.Counters[RelayCounter.DirectBubblesSkippedNotGlobal]);
        Assert.Equal(0, relay.Counters[RelayCounter.SentToConePeer]);

        // A packet from the private mapping itself proves nothing the relay could send to.
        relay.OnDatagram(6050, TeredoRelayEngine.UdpPort, privateMapping, BubbleFrom(cone, relay.NonceAddress(cone)), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropSourceNotGlobal]);
        // The answer to the nonce from a global socket releases both packets there.
        var real = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 3), 3333);
        relay.OnDatagram(6100, TeredoRelayEngine.UdpPort, real, BubbleFrom(cone, relay.NonceAddress(cone)), _sink);
        var released = _sink.Take();
        Assert.Equal(2, released.Count);
        Assert.All(released, p => Assert.Equal(real, p.To));
        Assert.Equal(packet, released[0].Bytes);
        Assert.Equal(0, relay.Counters[RelayCounter.SendRefusedNotGlobal]);
    }

    [Fact]
    public void A_packet_proving_a_non_global_mapping_is_dropped_and_nothing_is_learned()
    {
        var relay = Engine();
        var privateMapping = new Ipv4Endpoint(new Ipv4Address(192, 168, 1, 7), 4000);
        var peer = TeredoAddress.Create(Server, TeredoFlags.None, privateMapping).Address;
        relay.OnDatagram(0, TeredoRelayEngine.UdpPort, privateMapping, Echo(peer, Native), _sink);
        Assert.Empty(_sink.Take());
        Assert.Null(relay.Peers.Find(peer));
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropSourceNotGlobal]);
    }

    /// <summary>DESIGN.md §B.6: the coordinator moves T(D) to another IPv4 peer, which answers the relay's nonce; the flow follows at once.</summary>
    [Fact]
    public void A_nonce_proven_bubble_from_a_new_socket_re_maps_a_trusted_peer()
    {
        var target = CoordinatorTarget(17);
        var oldOwner = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 1), 61000);
        var newOwner = new Ipv4Endpoint(new Ipv4Address(198, 18, 4, 1), 62000);
        var relay = Engine();
        var packet = Echo(Native, target);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, packet, _sink);
        relay.OnDatagram(10, TeredoRelayEngine.UdpPort, oldOwner, BubbleFrom(target, relay.NonceAddress(target)), _sink);
        relay.OnDatagram(20, TeredoRelayEngine.UdpPort, oldOwner, Echo(target, Native), _sink);
        relay.OnDevicePacket(30, TeredoRelayEngine.TunDevice, packet, _sink);
        Assert.Equal(oldOwner, _sink.Take()[^1].To);
        Assert.True(relay.Peers.Find(target)!.Trusted);

        // The new owner bubbles the relay's nonce (the coordinator kept it from the first bubble).
        relay.OnDatagram(1000, TeredoRelayEngine.UdpPort, newOwner, BubbleFrom(target, relay.NonceAddress(target)), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(newOwner, relay.Peers.Find(target)!.Mapped);
        relay.OnDevicePacket(1010, TeredoRelayEngine.TunDevice, packet, _sink);
        var moved = Assert.Single(_sink.Take());
        Assert.Equal((OutputRoute.Udp, newOwner), (moved.Route, moved.To));
        Assert.Equal(1, relay.Counters[RelayCounter.IndirectBubblesSent]); // no new bubble round through the coordinator

        // The old owner no longer speaks for T(D); the new one does.
        relay.OnDatagram(1020, TeredoRelayEngine.UdpPort, oldOwner, Echo(target, Native), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropMappingMismatch]);
        relay.OnDatagram(1030, TeredoRelayEngine.UdpPort, newOwner, Echo(target, Native), _sink);
        Assert.Equal(OutputRoute.Tun, Assert.Single(_sink.Take()).Route);
        // A bubble to a nonce that is not ours re-maps nothing.
        relay.OnDatagram(1040, TeredoRelayEngine.UdpPort, oldOwner, BubbleFrom(target, Ipv6Address.Parse("fe80::1")), _sink);
        Assert.Equal(newOwner, relay.Peers.Find(target)!.Mapped);
    }

    [Fact]
    public void Traffic_with_a_trusted_peer_both_ways_allocates_nothing()
    {
        var relay = Engine();
        var output = new CountingOutput();
        var toClient = Echo(Native, Client);
        var fromClient = Echo(Client, Native);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, toClient, output);
        relay.OnDatagram(1, TeredoRelayEngine.UdpPort, ClientMapping, BubbleFrom(Client, relay.NonceAddress(Client)), output);
        long deadlines = 0;
        long t = 2;

        long allocated = Allocations.Measure(count =>
        {
            // 1 ms per 10 exchanges: the peer stays trusted (it writes too), nothing is pending. The deadline is
            // read after every call, as a host does.
            for (int i = 0; i < count; i++, t += i % 10 == 0 ? 1 : 0)
            {
                relay.OnDevicePacket(t, TeredoRelayEngine.TunDevice, toClient, output);
                relay.OnDatagram(t, TeredoRelayEngine.UdpPort, ClientMapping, fromClient, output);
                if (relay.NextDeadlineMs <= t) relay.OnTimer(t, output);
                deadlines += relay.NextDeadlineMs == long.MaxValue ? 0 : 1;
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(2 + 2 * 60_000, output.Committed);
        Assert.Equal(0, deadlines);
    }

    private static void AssertAllGlobal(IEnumerable<(OutputRoute Route, Ipv4Endpoint To, byte[] Bytes)> sent)
    {
        foreach (var p in sent)
            if (p.Route == OutputRoute.Udp) Assert.True(Ipv4Classification.IsTeredoGlobalUnicast(p.To.Address), $"sent to {p.To}");
    }

    [Fact]
    public void A_flood_of_distinct_destinations_keeps_memory_bounded_and_established_peers_working()
    {
        // No admission limit here: this is about the table's bounds when every packet makes an entry.
        var relay = Engine(new RelayOptions { PeerCapacity = 4096, MaxQueuedPerPeer = 4, MaxQueuedBytes = 64 * 1024, NewPeerRate = 0, NonceKey = new byte[32] });
        var sink = new CountingOutput();
        var packet = Echo(Native, Client);
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, packet, sink);
        relay.OnDatagram(1, TeredoRelayEngine.UdpPort, ClientMapping, BubbleFrom(Client, relay.NonceAddress(Client)), sink);

        var rnd = new Random(6);
        for (int i = 0; i < 1_000_000; i++)
        {
            var mapping = new Ipv4Endpoint(new Ipv4Address((uint)rnd.Next(0x0100_0000, 0x0900_0000)), (ushort)rnd.Next());
            var target = TeredoAddress.Create(Server, TeredoFlags.None, mapping).Address;
            Echo(Native, target).CopyTo(packet, 0);
            relay.OnDevicePacket(2 + i / 1000, TeredoRelayEngine.TunDevice, packet, sink);
            if (i % 1000 == 0)
            {
                // The established client keeps talking and keeps being served.
                relay.OnDatagram(2 + i / 1000, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, Native), sink);
                relay.OnDevicePacket(2 + i / 1000, TeredoRelayEngine.TunDevice, Echo(Native, Client), sink);
                relay.OnTimer(2 + i / 1000, sink);
            }
            Assert.True(relay.Peers.Count <= 4096);
            Assert.True(relay.Peers.QueuedBytes <= 64 * 1024);
        }
        Assert.True(relay.Peers.Find(Client)!.Trusted);
        Assert.Equal(1000, relay.Counters[RelayCounter.SentToTrustedPeer]);
        Assert.True(relay.Peers.Evictions > 990_000);
    }

    [Theory]
    [InlineData(0, 16, 1000)]
    [InlineData(16, -1, 1000)]
    [InlineData(16, 16, -1)]
    public void Options_that_leave_a_table_unbounded_or_broken_are_refused_where_the_engine_is_built(int capacity, int perPeer, int rate)
    {
        var options = new RelayOptions { PeerCapacity = capacity, MaxQueuedPerPeer = perPeer, NewPeerRate = rate };
        Assert.Throws<ArgumentOutOfRangeException>(() => new TeredoRelayEngine(options));
    }

    [Fact]
    public void New_destinations_over_the_admission_rate_are_dropped_before_any_table_or_bubble_work()
    {
        var relay = Engine(new RelayOptions { NewPeerRate = 100, NonceKey = new byte[32] });
        var sink = new CountingOutput();
        relay.OnDevicePacket(0, TeredoRelayEngine.TunDevice, Echo(Native, Client), sink);
        relay.OnDatagram(1, TeredoRelayEngine.UdpPort, ClientMapping, BubbleFrom(Client, relay.NonceAddress(Client)), sink);

        // 10 s of a million packets a second toward fresh destinations, the established client talking throughout.
        var rnd = new Random(7);
        var packet = new byte[56];
        for (int i = 0; i < 10_000_000; i += 1000)
        {
            long now = 2 + i / 1000;
            for (int j = 0; j < 1000; j += 10)
            {
                var mapping = new Ipv4Endpoint(new Ipv4Address((uint)rnd.Next(0x0100_0000, 0x0900_0000)), (ushort)rnd.Next());
                Echo(Native, TeredoAddress.Create(Server, TeredoFlags.None, mapping).Address).CopyTo(packet, 0);
                relay.OnDevicePacket(now, TeredoRelayEngine.TunDevice, packet, sink);
            }
            relay.OnDatagram(now, TeredoRelayEngine.UdpPort, ClientMapping, Echo(Client, Native), sink);
            relay.OnDevicePacket(now, TeredoRelayEngine.TunDevice, Echo(Native, Client), sink);
        }
        // The bucket starts full (burst 200) and refills at 100 a second over the 10 s.
        long admitted = relay.Counters[RelayCounter.IndirectBubblesSent] - 1;
        Assert.InRange(admitted, 1000, 1200 + 1);
        Assert.Equal(1_000_000 - admitted, relay.Counters[RelayCounter.TunDropNewPeerRateLimited]);
        Assert.Equal(10_000, relay.Counters[RelayCounter.SentToTrustedPeer]);
        Assert.True(relay.Peers.Find(Client)!.Trusted);
    }

    /// <summary>
    /// §5.4.1's goal under arbitrary input: packets to random Teredo destinations (any server, flags and
    /// mapping), answers from random sockets (global or not, to the nonce or not), and the timer. No
    /// datagram leaves toward a non-global IPv4 address, and the last guard never has to refuse one.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_destinations_and_answers_never_send_toward_a_non_global_address(bool behindNat)
    {
        var relay = Engine(new RelayOptions { BehindNat = behindNat, PeerCapacity = 512, NonceKey = new byte[32] });
        var sink = new GlobalOnlySink();
        var random = new Random(16);
        var targets = new Ipv6Address[64];
        for (int i = 0; i < 200_000; i++)
        {
            long now = i;
            int slot = random.Next(targets.Length);
            if (targets[slot] == default || random.Next(8) == 0)
                targets[slot] = TeredoAddress.Create(RandomIpv4(random), new TeredoFlags((ushort)random.Next(65536)),
                    new Ipv4Endpoint(RandomIpv4(random), (ushort)random.Next(65536))).Address;
            var target = targets[slot];
            switch (random.Next(4))
            {
                case 0:
                case 1:
                    relay.OnDevicePacket(now, TeredoRelayEngine.TunDevice, Echo(Native, target, (ushort)i), sink);
                    break;
                case 2:
                    var from = random.Next(2) == 0 ? new TeredoAddress(target).Mapped : new Ipv4Endpoint(RandomIpv4(random), (ushort)random.Next(65536));
                    var to = random.Next(2) == 0 ? relay.NonceAddress(target) : Ipv6Address.Parse("fe80::1");
                    relay.OnDatagram(now, TeredoRelayEngine.UdpPort, from, random.Next(2) == 0 ? BubbleFrom(target, to) : Echo(target, Native), sink);
                    break;
                default:
                    relay.OnTimer(now * 20, sink);
                    break;
            }
        }
        Assert.True(sink.Sent > 10_000);
        Assert.True(relay.Counters[RelayCounter.QueueReleased] > 0);
        // Every check met input it had to stop.
        Assert.True(relay.Counters[RelayCounter.TunDropServerNotGlobal] > 0);
        Assert.True(relay.Counters[RelayCounter.ConeMappingNotGlobal] > 0);
        Assert.True(relay.Counters[RelayCounter.UdpDropSourceNotGlobal] > 0);
        Assert.Equal(behindNat, relay.Counters[RelayCounter.DirectBubblesSkippedNotGlobal] > 0);
        Assert.Equal(0, relay.Counters[RelayCounter.SendRefusedNotGlobal]);
    }

    /// <summary>Half the time from the ranges §5.2.4 excludes, so that the checks are exercised.</summary>
    private static Ipv4Address RandomIpv4(Random random)
    {
        uint[] notGlobal = [0x0000_0001, 0x0A01_0203, 0x7F00_0001, 0xA9FE_0101, 0xAC10_0001, 0xC058_6301, 0xC0A8_0101, 0xE000_0001, 0xFFFF_FFFF];
        return random.Next(2) == 0 ? new Ipv4Address(notGlobal[random.Next(notGlobal.Length)]) : new Ipv4Address(198, 18, (byte)random.Next(256), (byte)random.Next(256));
    }

    /// <summary>Fails the test the moment a datagram is committed toward a non-global IPv4 address.</summary>
    private sealed class GlobalOnlySink : IPacketOutput
    {
        private readonly byte[] _buffer = new byte[2048];
        public int Sent;
        public Span<byte> Reserve(int maxLength) => _buffer;

        public void Send(PortHandle from, Ipv4Endpoint to, int length)
        {
            Assert.True(Ipv4Classification.IsTeredoGlobalUnicast(to.Address), $"sent to {to}");
            Sent++;
        }

        public void Write(DeviceHandle device, int length) { }
    }
}
