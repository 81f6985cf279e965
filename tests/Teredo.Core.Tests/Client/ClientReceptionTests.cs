using Teredo.Addressing;
using Teredo.Client;
using Teredo.Common;
using Teredo.Net;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Client;

/// <summary>RFC 4380 §5.2.3, case by case, on a qualified client behind a full-cone NAT (so every datagram reaches it).</summary>
public class ClientReceptionTests
{
    private static readonly Ipv4Endpoint ServerEndpoint = new(ClientHarness.ServerPrimary, 3544);

    private static ClientHarness Qualified(Func<ClientOptions, ClientOptions>? configure = null)
    {
        var h = new ClientHarness(NatBehaviour.FullCone, configure);
        h.Qualify();
        return h;
    }

    private static byte[] Tun(ClientHarness h) => Assert.Single(h.TakeOthers(), p => p.Route == OutputRoute.Tun).Bytes;

    [Fact]
    public void Case_3_a_Teredo_peer_from_its_embedded_mapping_is_trusted_and_delivered()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        var data = Packets.Echo(peer, h.Client.Address.Address);
        h.Receive(Packets.PeerMapping, data);
        Assert.Equal(data, Tun(h));
        Assert.Equal(1, h.Client.Counters[ClientCounter.DeliveredFromTeredoPeer]);
        var entry = h.Client.Peers.Find(peer)!;
        Assert.True(entry.Trusted);
        Assert.Equal(Packets.PeerMapping, entry.Mapped);
        Assert.Equal(h.Now, entry.LastReceiveMs);
        // §5.2.3: a new entry's last transmission is 30 s back, its bubble count zero.
        Assert.Equal(h.Now - 30_000, entry.LastTransmitMs);
        Assert.Equal(0, entry.BubblesSent);
    }

    [Fact]
    public void Case_3_a_bubble_creates_the_trusted_entry_and_is_not_delivered()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        h.Receive(Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address));
        Assert.Empty(h.TakeOthers());
        Assert.True(h.Client.Peers.Find(peer)!.Trusted);
        Assert.Equal(1, h.Client.Counters[ClientCounter.BubbleFromPeer]);
    }

    [Fact]
    public void Case_1_a_trusted_peer_from_its_mapping_is_delivered_and_its_time_updated()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        h.Receive(Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address));
        h.Advance(5_000);
        var data = Packets.Echo(peer, h.Client.Address.Address, sequence: 2);
        h.Receive(Packets.PeerMapping, data);
        Assert.Equal(data, Tun(h));
        Assert.Equal(1, h.Client.Counters[ClientCounter.DeliveredFromTrustedPeer]);
        Assert.Equal(h.Now, h.Client.Peers.Find(peer)!.LastReceiveMs);
    }

    [Fact]
    public void Case_3_releases_what_was_queued_for_the_peer()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        var outbound = Packets.Echo(h.Client.Address.Address, peer);
        h.FromTun(outbound);
        Assert.Equal(1, h.Client.Counters[ClientCounter.Queued]);
        h.TakeOthers();
        h.Receive(Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address));
        var released = Assert.Single(h.TakeOthers());
        Assert.Equal((OutputRoute.Udp, Packets.PeerMapping), (released.Route, released.To));
        Assert.Equal(outbound, released.Bytes);
        Assert.Equal(1, h.Client.Counters[ClientCounter.QueueReleased]);
        Assert.False(h.Client.Peers.Find(peer)!.Pending);
    }

    [Fact]
    public void Case_2_the_echo_reply_with_our_nonce_proves_a_native_peer_behind_its_relay()
    {
        var h = Qualified();
        var outbound = Packets.Echo(h.Client.Address.Address, Packets.Native);
        h.FromTun(outbound);
        var test = Assert.Single(h.ToServer, p => Packets.DestinationOf(p.Bytes) == Packets.Native);
        ulong nonce = Packets.NonceOf(test.Bytes);
        Assert.Equal(h.Client.Address.Address, Packets.Parse(test.Bytes).Source);
        Assert.Equal(h.Client.Peers.Find(Packets.Native)!.Nonce, nonce);

        // Another nonce proves nothing: delivered (the host may be pinging), no trust.
        h.Receive(Packets.Relay, Packets.EchoReplyWithNonce(Packets.Native, h.Client.Address.Address, nonce ^ 1));
        Assert.Single(h.TakeOthers(), p => p.Route == OutputRoute.Tun);
        Assert.False(h.Client.Peers.Find(Packets.Native)!.Trusted);

        h.Receive(Packets.Relay, Packets.EchoReplyWithNonce(Packets.Native, h.Client.Address.Address, nonce));
        var released = Assert.Single(h.TakeOthers());
        Assert.Equal((OutputRoute.Udp, Packets.Relay), (released.Route, released.To));
        Assert.Equal(outbound, released.Bytes);
        var entry = h.Client.Peers.Find(Packets.Native)!;
        Assert.True(entry.Trusted);
        Assert.Equal(Packets.Relay, entry.Mapped);
        Assert.Equal(1, h.Client.Counters[ClientCounter.EchoTestAnswered]);
    }

    [Fact]
    public void Case_6_an_unknown_native_source_is_delivered_and_tested_before_anything_goes_back()
    {
        var h = Qualified();
        var data = Packets.Echo(Packets.Native, h.Client.Address.Address);
        h.Receive(Packets.Relay, data);
        Assert.Equal(data, Tun(h));
        Assert.Equal(1, h.Client.Counters[ClientCounter.DeliveredUnverified]);
        var entry = h.Client.Peers.Find(Packets.Native)!;
        Assert.False(entry.Trusted);
        Assert.True(entry.Pending);
        Assert.Single(h.ToServer, p => Packets.DestinationOf(p.Bytes) == Packets.Native);
        // The host's answer waits for the test, then leaves through the relay that proved itself.
        var reply = Packets.Echo(h.Client.Address.Address, Packets.Native, request: false);
        h.FromTun(reply);
        Assert.Empty(h.TakeOthers());
        h.Receive(Packets.Relay, Packets.EchoReplyWithNonce(Packets.Native, h.Client.Address.Address, entry.Nonce));
        Assert.Equal(Packets.Relay, Assert.Single(h.TakeOthers()).To);
        // A second packet from it while trusted does not start another test.
        h.Receive(Packets.Relay, data);
        Assert.Single(h.ToServer, p => Packets.DestinationOf(p.Bytes) == Packets.Native);
    }

    [Fact]
    public void Case_6_a_Teredo_source_from_another_mapping_is_delivered_untrusted_and_its_bubbles_ignored()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        var elsewhere = new Ipv4Endpoint(Packets.PeerMapping.Address, 41999);
        h.Receive(elsewhere, Packets.Bubble(peer, h.Client.Address.Address));
        Assert.Equal(1, h.Client.Counters[ClientCounter.UdpDropUnverifiedBubble]);
        var data = Packets.Echo(peer, h.Client.Address.Address);
        h.Receive(elsewhere, data);
        Assert.Equal(data, Tun(h));
        Assert.Equal(1, h.Client.Counters[ClientCounter.DeliveredUnverified]);
        Assert.Null(h.Client.Peers.Find(peer));
    }

    [Fact]
    public void A_bubble_to_our_nonce_address_proves_a_peer_writing_from_another_mapping()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        var outbound = Packets.Echo(h.Client.Address.Address, peer);
        h.FromTun(outbound);
        var bubbles = h.TakeOthers();
        var indirect = Assert.Single(bubbles, p => p.To == new Ipv4Endpoint(Packets.PeerServer, 3544));
        Assert.True(ClientHarness.IsBubble(indirect.Bytes, out var nonceSource, out var target));
        Assert.Equal(peer, target);
        Assert.Equal(h.Client.NonceAddress(peer), nonceSource);
        Assert.True(nonceSource.IsLinkLocal);
        var direct = Assert.Single(bubbles, p => p.To == Packets.PeerMapping);
        Assert.True(ClientHarness.IsBubble(direct.Bytes, out var directSource, out _));
        Assert.Equal(h.Client.Address.Address, directSource);

        // A symmetric NAT in front of the peer: its answer comes from a port its address does not embed.
        var real = new Ipv4Endpoint(Packets.PeerMapping.Address, 52000);
        h.Receive(real, Packets.Bubble(peer, h.Client.NonceAddress(peer)));
        Assert.Equal(1, h.Client.Counters[ClientCounter.NonceBubbleAccepted]);
        Assert.Equal(real, Assert.Single(h.TakeOthers()).To);
        Assert.Equal(real, h.Client.Peers.Find(peer)!.Mapped);
    }

    [Fact]
    public void A_bubble_to_a_nonce_we_never_used_is_not_proof()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        h.Receive(new Ipv4Endpoint(Packets.PeerMapping.Address, 52000), Packets.Bubble(peer, h.Client.NonceAddress(peer)));
        Assert.Equal(1, h.Client.Counters[ClientCounter.UdpDropUnverifiedBubble]);
        Assert.Null(h.Client.Peers.Find(peer));
        // And any other link-local destination is not ours at all.
        h.Receive(Packets.PeerMapping, Packets.Bubble(peer, Ipv6Address.Parse("fe80::1")));
        Assert.Equal(1, h.Client.Counters[ClientCounter.UdpDropWrongDestination]);
    }

    [Fact]
    public void An_indirect_bubble_through_our_server_is_answered_with_a_direct_bubble_to_its_origin()
    {
        var h = Qualified();
        var relayNonce = Ipv6Address.Parse("fe80::8000:5445:5245:444f");
        h.Receive(ServerEndpoint, Packets.IndirectBubble(relayNonce, h.Client.Address.Address, Packets.Relay));
        var answer = Assert.Single(h.TakeOthers());
        Assert.Equal((OutputRoute.Udp, Packets.Relay), (answer.Route, answer.To));
        Assert.True(ClientHarness.IsBubble(answer.Bytes, out var src, out var dst));
        Assert.Equal((h.Client.Address.Address, relayNonce), (src, dst));
        Assert.Equal(1, h.Client.Counters[ClientCounter.IndirectBubbleAnswered]);
        Assert.Equal(h.Now, h.Client.LastServerInteractionMs);
    }

    [Fact]
    public void Answers_to_indirect_bubbles_keep_to_2_s_and_4_per_300_s()
    {
        var h = Qualified();
        var relayNonce = Ipv6Address.Parse("fe80::1234");
        var knock = Packets.IndirectBubble(relayNonce, h.Client.Address.Address, Packets.Relay);
        int Answered() => (int)h.Client.Counters[ClientCounter.IndirectBubbleAnswered];
        h.Receive(ServerEndpoint, knock);
        h.Advance(1_900);
        h.Receive(ServerEndpoint, knock);
        Assert.Equal((1, 1L), (Answered(), h.Client.Counters[ClientCounter.IndirectBubbleRateLimited]));
        for (int i = 0; i < 3; i++)
        {
            h.Advance(2_000);
            h.Receive(ServerEndpoint, knock);
        }
        Assert.Equal(4, Answered());
        h.Advance(2_000);
        h.Receive(ServerEndpoint, knock);
        Assert.Equal(4, Answered());
        // 300 s after the first one, the window has room again.
        h.Advance(300_000 - h.Now + 100);
        h.Receive(ServerEndpoint, knock);
        Assert.Equal(5, Answered());
    }

    [Fact]
    public void An_indirect_bubble_from_a_non_global_origin_is_ignored()
    {
        var h = Qualified();
        h.Receive(ServerEndpoint, Packets.IndirectBubble(Packets.PeerAddress(), h.Client.Address.Address, new Ipv4Endpoint(new Ipv4Address(192, 168, 1, 1), 3544)));
        Assert.Empty(h.TakeOthers());
        Assert.Equal(1, h.Client.Counters[ClientCounter.IndirectBubbleOriginNotGlobal]);
    }

    [Fact]
    public void The_server_forwarding_data_to_us_is_delivered_and_a_plain_bubble_ignored()
    {
        var h = Qualified();
        var data = Packets.Echo(Packets.Native, h.Client.Address.Address);
        h.Receive(ServerEndpoint, data);
        Assert.Equal(data, Tun(h));
        h.Receive(ServerEndpoint, Packets.Bubble(Packets.PeerAddress(), h.Client.Address.Address));
        Assert.Equal((1L, 1L), (h.Client.Counters[ClientCounter.DeliveredFromServer], h.Client.Counters[ClientCounter.ServerBubbleIgnored]));
    }

    [Fact]
    public void Neighbor_discovery_from_a_peer_never_reaches_the_host()
    {
        var h = Qualified();
        var peer = Packets.PeerAddress();
        var ra = new byte[128];
        int n = new RouterAdvertisement(64, false, false, 1800, 0, 0, new PrefixInformation(Ipv6Address.Parse("2001:db8:bad::"), 64, true, true, 3600, 3600), null)
            .Emit(ra, peer, h.Client.Address.Address);
        h.Receive(Packets.PeerMapping, ra.AsSpan(0, n));
        Assert.Empty(h.TakeOthers());
        Assert.Equal(1, h.Client.Counters[ClientCounter.UdpDropNeighborDiscovery]);
    }

    [Fact]
    public void Packets_for_another_address_or_before_qualification_are_dropped()
    {
        var h = new ClientHarness(NatBehaviour.FullCone) { ServerUp = false };
        h.Start();
        var stranger = TeredoAddress.Create(ClientHarness.ServerPrimary, TeredoFlags.None, new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000)).Address;
        h.Client.OnDatagram(0, ClientPort.Service, Packets.PeerMapping, Packets.Bubble(Packets.PeerAddress(), stranger), h.Sink);
        Assert.Equal(1, h.Client.Counters[ClientCounter.UdpDropNotQualified]);

        var q = Qualified();
        q.Receive(Packets.PeerMapping, Packets.Echo(Packets.PeerAddress(), Ipv6Address.Parse("2001:db8::99")));
        Assert.Equal(1, q.Client.Counters[ClientCounter.UdpDropWrongDestination]);
        q.Receive(Packets.PeerMapping, [0x60, 0, 0]);
        Assert.Equal(1, q.Client.Counters[ClientCounter.UdpDropMalformed]);
        Assert.Empty(q.TakeOthers());
    }
}
