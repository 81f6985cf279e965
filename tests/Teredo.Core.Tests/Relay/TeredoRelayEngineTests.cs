using Teredo.Addressing;
using Teredo.Common;
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
    private readonly ListSink _sink = new();

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
        relay.FromTun(0, packet, _sink);
        var sent = Assert.Single(_sink.Take());
        Assert.Equal(PacketRoute.Udp, sent.Route);
        Assert.Equal(new Ipv4Endpoint(Server, 3544), sent.To);
        Assert.True(Ipv6Packet.TryParse(sent.Bytes, out var bubble) && bubble.IsBubble);
        Assert.Equal(Client, bubble.Destination);
        Assert.Equal(relay.NonceAddress(Client), bubble.Source);
        Assert.True(bubble.Source.IsLinkLocal);
        Assert.Equal(1, relay.Peers.Find(Client)!.QueuedPackets);

        // The client's direct bubble, from its embedded mapping, to the nonce address.
        relay.FromUdp(100, ClientMapping, BubbleFrom(Client, bubble.Source), _sink);
        var released = Assert.Single(_sink.Take());
        Assert.Equal((PacketRoute.Udp, ClientMapping), (released.Route, released.To));
        Assert.Equal(packet, released.Bytes);
        Assert.True(relay.Peers.Find(Client)!.Trusted);

        // Now trusted: straight through.
        relay.FromTun(200, packet, _sink);
        Assert.Equal(ClientMapping, Assert.Single(_sink.Take()).To);
        Assert.Equal(1, relay.Counters[RelayCounter.SentToTrustedPeer]);
    }

    [Fact]
    public void Answer_to_the_nonce_from_another_socket_is_accepted_and_the_mapping_learned()
    {
        // DESIGN.md §B.2 step 4: a P2P IPv4 peer answers for T(D) from its own socket.
        var coordinator = new Ipv4Address(198, 18, 0, 30);
        var target = CoordinatorAddress.Dynamic(coordinator, new Ipv4Address(198, 18, 0, 100)).ToIpv6();
        var realSocket = new Ipv4Endpoint(new Ipv4Address(198, 18, 3, 1), 61000);
        var relay = Engine();
        var packet = Echo(Native, target);
        relay.FromTun(0, packet, _sink);
        var bubble = Assert.Single(_sink.Take());
        Assert.Equal(new Ipv4Endpoint(coordinator, 3544), bubble.To);

        relay.FromUdp(50, realSocket, BubbleFrom(target, relay.NonceAddress(target)), _sink);
        var released = Assert.Single(_sink.Take());
        Assert.Equal(realSocket, released.To);
        Assert.Equal(1, relay.Counters[RelayCounter.MismatchAcceptedByNonce]);

        // Data from the learned socket flows to the native host; from elsewhere it does not.
        var reply = Echo(target, Native);
        relay.FromUdp(60, realSocket, reply, _sink);
        Assert.Equal(PacketRoute.Tun, Assert.Single(_sink.Take()).Route);
        relay.FromUdp(70, new Ipv4Endpoint(new Ipv4Address(198, 18, 9, 9), 1), reply, _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropMappingMismatch]);
        relay.FromTun(80, packet, _sink);
        Assert.Equal(realSocket, Assert.Single(_sink.Take()).To);
    }

    [Fact]
    public void Mismatched_bubble_without_the_nonce_is_dropped()
    {
        var relay = Engine();
        relay.FromTun(0, Echo(Native, Client), _sink);
        _sink.Take();
        relay.FromUdp(10, new Ipv4Endpoint(new Ipv4Address(198, 18, 7, 7), 7), BubbleFrom(Client, Ipv6Address.Parse("fe80::1")), _sink);
        Assert.Empty(_sink.Take());
        Assert.False(relay.Peers.Find(Client)!.Trusted);
        Assert.Equal(1, relay.Counters[RelayCounter.UdpDropMappingMismatch]);
    }

    [Fact]
    public void Cone_peer_is_sent_to_directly()
    {
        var relay = Engine();
        var cone = TeredoAddress.Create(Server, TeredoFlags.Cone, ClientMapping).Address;
        relay.FromTun(0, Echo(Native, cone), _sink);
        var sent = Assert.Single(_sink.Take());
        Assert.Equal(ClientMapping, sent.To);
        Assert.False(Ipv6Packet.TryParse(sent.Bytes, out var p) && p.IsBubble);

        var ignoring = Engine(new RelayOptions { IgnoreConeBit = true, NonceKey = new byte[32] });
        ignoring.FromTun(0, Echo(Native, cone), _sink);
        Assert.Equal(new Ipv4Endpoint(Server, 3544), Assert.Single(_sink.Take()).To);
    }

    [Fact]
    public void Behind_a_nat_the_relay_also_bubbles_directly()
    {
        var relay = Engine(new RelayOptions { BehindNat = true, NonceKey = new byte[32] });
        relay.FromTun(0, Echo(Native, Client), _sink);
        var sent = _sink.Take();
        Assert.Equal(2, sent.Count);
        Assert.Contains(sent, p => p.To == ClientMapping);
        Assert.Contains(sent, p => p.To == new Ipv4Endpoint(Server, 3544));
    }

    [Fact]
    public void Bubbles_repeat_every_2s_three_times_then_the_sender_gets_unreachable()
    {
        var relay = Engine();
        relay.FromTun(0, Echo(Native, Client), _sink);
        relay.FromTun(10, Echo(Native, Client, 2), _sink);
        Assert.Single(_sink.Take()); // one bubble for both packets
        for (long t = 100; t <= 7900; t += 100) relay.OnTimer(t, _sink);
        Assert.Equal(3, _sink.Take().Count);
        relay.OnTimer(8000, _sink);
        var errors = _sink.Take();
        Assert.Equal(2, errors.Count);
        foreach (var e in errors)
        {
            Assert.Equal(PacketRoute.Tun, e.Route);
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
        relay.FromUdp(0, ClientMapping, Echo(Client, Native), _sink);
        Assert.Equal(PacketRoute.Tun, Assert.Single(_sink.Take()).Route);
        relay.FromUdp(0, ClientMapping, Echo(Client, TeredoAddress.Create(Server, TeredoFlags.None, new(new Ipv4Address(198, 18, 5, 5), 1)).Address), _sink);
        relay.FromUdp(0, ClientMapping, Echo(Client, Ipv6Address.Parse("ff02::1")), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(2, relay.Counters[RelayCounter.UdpDropDestinationNotServed]);

        var hostSpecific = Engine(new RelayOptions { ServedAddresses = new HashSet<Ipv6Address> { RelayOwn }, NonceKey = new byte[32] });
        hostSpecific.FromUdp(0, ClientMapping, Echo(Client, Native), _sink);
        Assert.Empty(_sink.Take());
        hostSpecific.FromUdp(0, ClientMapping, Echo(Client, RelayOwn), _sink);
        Assert.Single(_sink.Take());
        // ... and only the host's own packets go the other way.
        hostSpecific.FromTun(0, Echo(Native, Client), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(1, hostSpecific.Counters[RelayCounter.TunDropSourceNotServed]);
        hostSpecific.FromTun(0, Echo(RelayOwn, Client), _sink);
        Assert.Single(_sink.Take());
    }

    [Theory]
    [InlineData("2001:db8::1")] // not Teredo
    [InlineData("2001:0:c612:a:0:f7ff:f5ff:fffe")] // mapped 10.0.0.1: not global
    public void Tun_packets_the_relay_cannot_send_are_dropped(string destination)
    {
        var relay = Engine();
        relay.FromTun(0, Echo(Native, Ipv6Address.Parse(destination)), _sink);
        Assert.Empty(_sink.Take());
        Assert.Equal(0, relay.Peers.Count);
    }

    [Fact]
    public void A_flood_of_distinct_destinations_keeps_memory_bounded_and_established_peers_working()
    {
        var relay = Engine(new RelayOptions { PeerCapacity = 4096, MaxQueuedPerPeer = 4, MaxQueuedBytes = 64 * 1024, NonceKey = new byte[32] });
        var sink = new CountingSink();
        var packet = Echo(Native, Client);
        relay.FromTun(0, packet, sink);
        relay.FromUdp(1, ClientMapping, BubbleFrom(Client, relay.NonceAddress(Client)), sink);

        var rnd = new Random(6);
        for (int i = 0; i < 1_000_000; i++)
        {
            var mapping = new Ipv4Endpoint(new Ipv4Address((uint)rnd.Next(0x0100_0000, 0x0900_0000)), (ushort)rnd.Next());
            var target = TeredoAddress.Create(Server, TeredoFlags.None, mapping).Address;
            Echo(Native, target).CopyTo(packet, 0);
            relay.FromTun(2 + i / 1000, packet, sink);
            if (i % 1000 == 0)
            {
                // The established client keeps talking and keeps being served.
                relay.FromUdp(2 + i / 1000, ClientMapping, Echo(Client, Native), sink);
                relay.FromTun(2 + i / 1000, Echo(Native, Client), sink);
                relay.OnTimer(2 + i / 1000, sink);
            }
            Assert.True(relay.Peers.Count <= 4096);
            Assert.True(relay.Peers.QueuedBytes <= 64 * 1024);
        }
        Assert.True(relay.Peers.Find(Client)!.Trusted);
        Assert.Equal(1000, relay.Counters[RelayCounter.SentToTrustedPeer]);
        Assert.True(relay.Peers.Evictions > 990_000);
    }

    private sealed class CountingSink : IPacketSink
    {
        private readonly byte[] _buffer = new byte[2048];
        public Span<byte> Reserve(int maxLength) => _buffer;
        public void Commit(PacketRoute route, Ipv4Endpoint to, int length) { }
    }
}
