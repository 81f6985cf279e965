using System.Buffers.Binary;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;
using Teredo.P2p.Ipv4Peer;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.Support.P2pNetwork;

namespace Teredo.Tests.P2p;

/// <summary>
/// The whole P2P NAT64 network in memory (issues 12 and 13): IPv6-only client C, the IPv6 peer, the standard
/// relay, the coordinator, IPv4 peers behind symmetric NATs and an IPv4 host D, each the real engine, on a
/// virtual clock. C's packets must come back answered by D with every address and checksum right.
/// </summary>
public class WholeNetworkTests
{
    private static readonly Ipv6Address C = P2pNetwork.Client;
    private static readonly Ipv4Address D = new(198, 18, 100, 1);
    private static readonly Ipv4Address PeerALocal = new(10, 0, 0, 2);
    private static readonly Ipv4Address PeerANat = new(198, 18, 5, 1);
    private static readonly Ipv4Address PeerBLocal = new(10, 0, 1, 2);
    private static readonly Ipv4Address PeerBNat = new(198, 18, 6, 1);
    private static readonly byte[] UdpAnswer = "answer from D"u8.ToArray();
    private static readonly byte[] TcpAnswer = "world"u8.ToArray();

    private static Ipv6Address N(Ipv4Address d) => P2pNetwork.Nat64(d);

    /// <summary>Host D: answers echo requests, UDP and TCP segments, with the transport checksums of a real stack.</summary>
    private static byte[]? Answer(byte[] packet)
    {
        int ihl = (packet[0] & 15) * 4;
        var source = Ipv4Address.Read(packet.AsSpan(12));
        var destination = Ipv4Address.Read(packet.AsSpan(16));
        var upper = packet.AsSpan(ihl);
        int sport = BinaryPrimitives.ReadUInt16BigEndian(upper), dport = BinaryPrimitives.ReadUInt16BigEndian(upper.Slice(2));
        return packet[9] switch
        {
            IpProtocol.Icmp when upper[0] == 8 => Nat64Packets.Ipv4(destination, source, IpProtocol.Icmp,
                Nat64Packets.Icmp(0, 0, BinaryPrimitives.ReadUInt32BigEndian(upper.Slice(4)), upper.Slice(8).ToArray())),
            IpProtocol.Udp => Nat64Packets.Ipv4(destination, source, IpProtocol.Udp, Nat64Packets.Udp(dport, sport, UdpAnswer)),
            IpProtocol.Tcp when (upper[13] & 0x02) != 0 => Nat64Packets.Ipv4(destination, source, IpProtocol.Tcp,
                Segment(dport, sport, 0x0A0B0C0D, BinaryPrimitives.ReadUInt32BigEndian(upper.Slice(4)) + 1, 0x12, 1460)),
            IpProtocol.Tcp => Nat64Packets.Ipv4(destination, source, IpProtocol.Tcp, Nat64Packets.Tcp(dport, sport, TcpAnswer)),
            _ => null,
        };
    }

    /// <summary>A TCP header with one MSS option (SYN, SYN-ACK); the checksum is left for the packet builder.</summary>
    private static byte[] Segment(int sourcePort, int destinationPort, uint sequence, uint acknowledgment, byte flags, ushort mss)
    {
        var b = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), sequence);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(8), acknowledgment);
        b[12] = 6 << 4;
        b[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(14), 65535);
        b[20] = 2; // MSS
        b[21] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(22), mss);
        return b;
    }

    private static byte[] EchoRequest(Ipv4Address d, ushort sequence)
    {
        var data = new byte[24];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 11 + sequence);
        var packet = new byte[Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + data.Length];
        int n = Icmpv6Echo.Emit(packet, C, N(d), true, 0x4242, sequence, data);
        return packet[..n];
    }

    /// <summary>C got an echo reply from N::D for exactly the request it sent.</summary>
    private static void AssertEchoReply(byte[] request, byte[] reply)
    {
        AssertFromNat64ToClient(reply, IpProtocol.Icmpv6);
        Assert.Equal(129, reply[40]); // echo reply
        Assert.Equal(0, reply[41]);
        Assert.Equal(request.AsSpan(44).ToArray(), reply.AsSpan(44).ToArray()); // identifier, sequence, data
    }

    private static void AssertFromNat64ToClient(byte[] reply, byte protocol)
    {
        Assert.True(Ipv6Packet.TryParse(reply, out var ip));
        Assert.Equal(reply.Length, ip.TotalLength);
        Assert.Equal(N(D), ip.Source);
        Assert.Equal(C, ip.Destination);
        Assert.Equal(protocol, reply[6]);
        Assert.True(Nat64Packets.TransportChecksumOk6(reply));
    }

    private static void AssertReachedD(byte[] packet, byte protocol)
    {
        Assert.Equal(4, packet[0] >> 4);
        Assert.Equal(0, Checksum.Compute(packet.AsSpan(0, (packet[0] & 15) * 4)));
        Assert.Equal(D, Ipv4Address.Read(packet.AsSpan(16)));
        // Sourced from the peer's translation pool (masqueraded by its kernel), never from C's IPv6 identity.
        Assert.True(Ipv4Address.Read(packet.AsSpan(12)).IsIn(new Ipv4Address(10, 255, 46, 0), 24));
        Assert.Equal(protocol, packet[9]);
        Assert.True(Nat64Packets.TransportChecksumOk4(packet));
    }

    /// <summary>C sends one UDP or TCP packet; D gets its payload, and C gets D's answer on the same ports.</summary>
    private static void AssertTransportRoundTrip(P2pNetwork net, byte[] packet, byte protocol, ushort clientPort, ushort serverPort,
        byte[] sent, byte[] answered)
    {
        int header = protocol == IpProtocol.Udp ? UdpDatagram.HeaderLength : 20;
        net.FromClient(packet);
        var atD = net.ReachedIpv4[^1].Packet;
        AssertReachedD(atD, protocol);
        Assert.Equal(sent, atD.AsSpan(20 + header).ToArray());
        var reply = net.ClientReceived[^1];
        AssertFromNat64ToClient(reply, protocol);
        Assert.Equal(serverPort, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(40)));
        Assert.Equal(clientPort, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(42)));
        Assert.Equal(answered, reply.AsSpan(40 + header).ToArray());
    }

    [Fact]
    public void Echo_udp_and_tcp_from_C_reach_D_through_a_peer_behind_a_symmetric_NAT_and_come_back()
    {
        var net = new P2pNetwork(Answer);
        var a = net.Join(1, PeerALocal, PeerANat);
        Assert.Equal(ControlMessageType.Welcome, Assert.Single(a.FramesReceived));
        Assert.NotNull(a.Engine.Translator);

        // Echo: the first packet starts the whole bubble exchange and waits in the relay's queue meanwhile.
        var echo = EchoRequest(D, 1);
        net.FromClient(echo);
        AssertEchoReply(echo, Assert.Single(net.ClientReceived));

        // The path it took: v6peer → relay's indirect bubble → coordinator lease + notification → peer's bubble
        // from its NAT mapping, accepted by nonce → queued packet released → translated → D.
        Assert.Equal(1, net.V6Peer.Counters[Ipv6PeerCounter.ForwardedToCoordinator]);
        Assert.Equal(1, net.Relay.Counters[RelayCounter.Queued]);
        Assert.Equal(1, net.Relay.Counters[RelayCounter.IndirectBubblesSent]);
        Assert.Equal(1, net.Coordinator.Counters[CoordinatorCounter.BubbleLeaseCreated]);
        Assert.Equal(a.Session, net.Coordinator.LeaseFor(D)!.Owner.Session);
        Assert.Equal([ControlMessageType.Welcome, ControlMessageType.LeaseGranted, ControlMessageType.BubbleNotification], a.FramesReceived);
        Assert.Equal(T(D), Assert.Single(a.Grants).Address);
        Assert.True(a.Engine.IsHeld(T(D)));
        Assert.Equal(1, a.Engine.Counters[Ipv4PeerCounter.BubblesSent]);
        Assert.Equal(1, net.Relay.Counters[RelayCounter.MismatchAcceptedByNonce]);
        Assert.Equal(1, net.Relay.Counters[RelayCounter.QueueReleased]);
        // The relay learned the NAT's mapping toward it, not the meaningless one T(D) embeds.
        var learned = net.Relay.Peers.Find(T(D))!;
        Assert.True(learned.Trusted);
        Assert.Equal(new Ipv4Endpoint(PeerANat, 40000), learned.Mapped);
        Assert.NotEqual(new Teredo.Addressing.TeredoAddress(T(D)).Mapped, learned.Mapped);
        AssertReachedD(Assert.Single(net.ReachedIpv4).Packet, IpProtocol.Icmp);
        Assert.Equal(1, net.V6Peer.Counters[Ipv6PeerCounter.ForwardedToClient]);

        // UDP: the mapping is up, so it goes straight to the trusted peer; D's answer comes back to C's port.
        var udp = Nat64Packets.Ipv6(C, N(D), IpProtocol.Udp, Nat64Packets.Udp(40123, 53, "query from C"u8.ToArray()));
        AssertTransportRoundTrip(net, udp, IpProtocol.Udp, 40123, 53, "query from C"u8.ToArray(), UdpAnswer);
        // TCP: a data segment and its answer.
        AssertTransportRoundTrip(net, Ipv6PeerPackets.Tcp(C, N(D)), IpProtocol.Tcp, 51000, 443, "hello"u8.ToArray(), TcpAnswer);

        Assert.Equal(3, net.ClientReceived.Count);
        Assert.Equal(3, net.ReachedIpv4.Count);
        // One knock for the whole flow, and nothing the NAT had to filter or nobody could route.
        Assert.Equal(1, net.Relay.Counters[RelayCounter.IndirectBubblesSent]);
        Assert.Equal(2, net.Relay.Counters[RelayCounter.SentToTrustedPeer]);
        Assert.Empty(net.Dropped);
    }

    [Fact]
    public void A_TCP_SYN_as_the_first_packet_of_a_flow_opens_the_path_and_the_SYN_ACK_comes_back()
    {
        var net = new P2pNetwork(Answer);
        net.Join(1, PeerALocal, PeerANat);
        var syn = Nat64Packets.Ipv6(C, N(D), IpProtocol.Tcp, Segment(51000, 443, 0x11223344, 0, 0x02, 1220));
        net.FromClient(syn);

        var atD = Assert.Single(net.ReachedIpv4).Packet;
        AssertReachedD(atD, IpProtocol.Tcp);
        Assert.Equal(syn.AsSpan(40, 20).ToArray()[..16], atD.AsSpan(20, 16).ToArray()); // ports, sequence, flags, window
        Assert.Equal(1220, BinaryPrimitives.ReadUInt16BigEndian(atD.AsSpan(42))); // the option crossed untouched

        var synAck = Assert.Single(net.ClientReceived);
        AssertFromNat64ToClient(synAck, IpProtocol.Tcp);
        Assert.Equal(443, BinaryPrimitives.ReadUInt16BigEndian(synAck.AsSpan(40)));
        Assert.Equal(51000, BinaryPrimitives.ReadUInt16BigEndian(synAck.AsSpan(42)));
        Assert.Equal(0x11223345u, BinaryPrimitives.ReadUInt32BigEndian(synAck.AsSpan(48)));
        Assert.Equal(0x12, synAck[53]); // SYN ACK
        Assert.Equal(1460, BinaryPrimitives.ReadUInt16BigEndian(synAck.AsSpan(62)));
    }

    [Fact]
    public void The_symmetric_NAT_only_lets_the_relay_in_after_the_peer_bubbled_it()
    {
        var net = new P2pNetwork(Answer);
        var a = net.Join(1, PeerALocal, PeerANat);
        var relayMapping = new Ipv4Endpoint(PeerANat, 40000);
        Assert.False(a.Nat.Inbound(RelayUdp, relayMapping)); // nothing sent yet: filtered

        net.FromClient(EchoRequest(D, 1));
        Assert.Single(net.ClientReceived);
        Assert.True(a.Nat.Inbound(RelayUdp, relayMapping));
        // Another host cannot use the hole, and the relay could not use a port the NAT gave another destination.
        Assert.False(a.Nat.Inbound(new Ipv4Endpoint(D, 3544), relayMapping));
        Assert.Equal(new Ipv4Endpoint(PeerANat, 40001), a.Nat.Outbound(a.Socket, new Ipv4Endpoint(D, 3544)));
        Assert.False(a.Nat.Inbound(RelayUdp, new Ipv4Endpoint(PeerANat, 40001)));
    }

    [Fact]
    public void When_the_owner_leaves_the_lease_moves_the_new_owner_rebubbles_and_the_next_packet_is_answered_through_it()
    {
        var net = new P2pNetwork(Answer);
        var a = net.Join(1, PeerALocal, PeerANat);
        var first = EchoRequest(D, 1);
        net.FromClient(first);
        AssertEchoReply(first, Assert.Single(net.ClientReceived));
        Assert.Same(a, Assert.Single(net.ReachedIpv4).Peer);

        var b = net.Join(2, PeerBLocal, PeerBNat);
        Assert.Equal(a.Session, net.Coordinator.LeaseFor(D)!.Owner.Session); // joining moves nothing
        Assert.Equal(0, b.Engine.Counters[Ipv4PeerCounter.BubblesSent]);

        net.Leave(a);
        // DESIGN.md §B.6: the lease goes to B with the relay it was bubbled from, and B bubbles that relay at once.
        Assert.Equal(b.Session, net.Coordinator.LeaseFor(D)!.Owner.Session);
        Assert.Equal(1, net.Coordinator.Counters[CoordinatorCounter.LeasesMoved]);
        var moved = Assert.Single(b.Grants);
        Assert.Equal(T(D), moved.Address);
        Assert.Equal([new RelaySighting(RelayUdp, net.Relay.NonceAddress(T(D)))], moved.Relays);
        Assert.True(b.Engine.IsHeld(T(D)));
        Assert.False(a.Engine.IsHeld(T(D)));
        Assert.Equal(1, b.Engine.Counters[Ipv4PeerCounter.BubblesSent]);
        Assert.Equal(2, net.Relay.Counters[RelayCounter.MismatchAcceptedByNonce]);
        Assert.Equal(new Ipv4Endpoint(PeerBNat, 40000), net.Relay.Peers.Find(T(D))!.Mapped);

        // The next packet, with no clock advance and no new knock, goes through B and is answered.
        long aReceived = a.Engine.Counters[Ipv4PeerCounter.UdpReceived];
        var second = EchoRequest(D, 2);
        net.FromClient(second);
        Assert.Equal(2, net.ClientReceived.Count);
        AssertEchoReply(second, net.ClientReceived[^1]);
        Assert.Same(b, net.ReachedIpv4[^1].Peer);
        AssertReachedD(net.ReachedIpv4[^1].Packet, IpProtocol.Icmp);
        Assert.Equal(1, net.Relay.Counters[RelayCounter.IndirectBubblesSent]);
        Assert.Equal(1, net.Relay.Counters[RelayCounter.Queued]);
        Assert.Equal(aReceived, a.Engine.Counters[Ipv4PeerCounter.UdpReceived]);
        Assert.Empty(net.Dropped);
    }

    [Theory]
    [InlineData("10.1.2.3")]      // RFC 1918
    [InlineData("127.0.0.1")]     // loopback
    [InlineData("169.254.1.1")]   // link-local
    [InlineData("100.64.0.1")]    // shared address space
    [InlineData("192.0.2.1")]     // documentation
    [InlineData("224.0.0.1")]     // multicast
    [InlineData("255.255.255.255")]
    public void A_destination_not_globally_reachable_is_refused_at_the_v6peer_and_nothing_reaches_the_relay(string destination)
    {
        var net = new P2pNetwork(Answer);
        net.Join(1, PeerALocal, PeerANat);
        var d = Ipv4Address.Parse(destination);
        var udp = Nat64Packets.Ipv6(C, N(d), IpProtocol.Udp, Nat64Packets.Udp(40123, 53, "query"u8.ToArray()));
        net.FromClient(udp);

        var error = Assert.Single(net.ClientReceived);
        Assert.True(Ipv6Packet.TryParse(error, out var ip));
        Assert.Equal(net.V6Peer.Options.OwnAddress, ip.Source);
        Assert.Equal(C, ip.Destination);
        Assert.Equal(IpProtocol.Icmpv6, error[6]);
        Assert.Equal(1, error[40]); // destination unreachable
        Assert.Equal(1, error[41]); // administratively prohibited
        Assert.True(Nat64Packets.TransportChecksumOk6(error));
        Assert.Equal(udp, error.AsSpan(48).ToArray()); // the whole invoking packet, so C can match it

        Assert.Equal(1, net.V6Peer.Counters[Ipv6PeerCounter.DestinationNotGlobal]);
        Assert.Equal(0, net.Relay.Counters[RelayCounter.TunReceived]);
        Assert.Equal(0, net.Coordinator.Counters[CoordinatorCounter.BubblesReceived]);
        Assert.Empty(net.ReachedIpv4);
        Assert.Equal(0, net.V6Peer.Pool.Count);
    }
}
