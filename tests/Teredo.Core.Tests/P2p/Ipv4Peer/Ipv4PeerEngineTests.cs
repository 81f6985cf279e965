using Teredo.Addressing;
using Teredo.Common;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Ipv4Peer;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.P2p.Ipv4Peer.Ipv4PeerHarness;

namespace Teredo.Tests.P2p.Ipv4Peer;

public class Ipv4PeerEngineTests
{
    [Fact]
    public void Bubble_notification_for_a_lease_is_answered_from_T_D_to_the_relay_nonce()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.Engine.OnBubbleNotification(new BubbleNotification(RelayAt, RelayNonce, T(Host4)), h.Sink);

        var (route, to, bytes) = Assert.Single(h.Take());
        Assert.Equal(OutputRoute.Udp, route);
        Assert.Equal(RelayAt, to);
        Assert.True(Ipv6Packet.TryParse(bytes, out var ip) && ip.IsBubble);
        Assert.Equal(T(Host4), ip.Source);
        Assert.Equal(RelayNonce, ip.Destination);
    }

    [Fact]
    public void Bubble_notification_for_an_address_not_held_is_counted_not_answered()
    {
        var h = new Ipv4PeerHarness();
        h.Engine.OnBubbleNotification(new BubbleNotification(RelayAt, RelayNonce, T(Host4)), h.Sink);
        Assert.Empty(h.Take());
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.BubbleNotificationNotHeld]);
    }

    [Fact]
    public void A_moved_lease_bubbles_every_relay_it_was_seen_from()
    {
        var h = new Ipv4PeerHarness();
        var other = new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 31), 3544);
        h.Engine.OnLeaseGranted(h.Now, new LeaseGranted(T(Host4), 120, [new(RelayAt, RelayNonce), new(other, RelayNonce)]), h.Sink);
        var sent = h.Take();
        Assert.Equal([RelayAt, other], sent.Select(p => p.To));
        Assert.All(sent, p => Assert.True(Ipv6Packet.TryParse(p.Bytes, out var ip) && ip.IsBubble && ip.Source == T(Host4)));
    }

    [Fact]
    public void Ping_round_trip_T_D_in_IPv4_out_reply_back_to_the_relay_it_came_through()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.FromRelay(EchoRequest(T(Host4), sequence: 9));

        var (route, _, v4) = Assert.Single(h.Take());
        Assert.Equal(OutputRoute.Tun, route);
        Assert.True(Ipv4Packet.TryParse(v4, out var ip4));
        Assert.Equal(Host4, ip4.Destination);
        Assert.True(ip4.Source.IsIn(h.Engine.Options.PoolNetwork, h.Engine.Options.PoolLength));
        Assert.Equal(IpProtocol.Icmp, ip4.Protocol);
        Assert.Equal(8, v4[ip4.HeaderLength]); // echo request

        var otherRelay = new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 40), 40000);
        h.FromRelay(EchoRequest(T(Host4), sequence: 10), otherRelay); // last heard through another relay
        h.Take();
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, EchoReplyTo(v4), h.Sink);

        var (route6, to, v6) = Assert.Single(h.Take());
        Assert.Equal(OutputRoute.Udp, route6);
        Assert.Equal(otherRelay, to);
        Assert.True(Ipv6Packet.TryParse(v6, out var ip6));
        Assert.Equal(T(Host4), ip6.Source);
        Assert.Equal(User, ip6.Destination);
        Assert.True(Icmpv6Packet.TryParse(ip6, out var icmp));
        Assert.True(Icmpv6Echo.TryParse(icmp, out var echo));
        Assert.False(echo.IsRequest);
        Assert.Equal(9, echo.Sequence);

        var held = h.Engine.Held.Single(a => a.Address == T(Host4));
        Assert.Equal(2, held.PacketsIn);
        Assert.Equal(1, held.PacketsOut);
    }

    [Fact]
    public void Teredo_IPv6_for_an_address_not_held_is_counted_and_dropped()
    {
        var h = new Ipv4PeerHarness();
        h.FromRelay(EchoRequest(T(Host4)));
        Assert.Empty(h.Take());
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.UdpNotHeld]);
        Assert.Equal(0, h.Engine.Relays.Count);
    }

    [Fact]
    public void Nothing_is_translated_before_the_welcome()
    {
        var h = new Ipv4PeerHarness(welcome: false);
        h.FromRelay(EchoRequest(T(Host4)));
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, new Ipv4PeerHarnessPackets().AnyIpv4, h.Sink);
        Assert.Empty(h.Take());
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.UdpNotHeld]);
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.TunNoTranslator]);
    }

    [Fact]
    public void The_static_address_reaches_the_peers_own_host_and_answers_come_back_from_it()
    {
        var h = new Ipv4PeerHarness();
        h.FromRelay(EchoRequest(StaticAddress));
        var (route, _, v4) = Assert.Single(h.Take());
        Assert.Equal(OutputRoute.Tun, route);
        Assert.True(Ipv4Packet.TryParse(v4, out var ip4));
        Assert.Equal(Local, ip4.Destination);

        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, EchoReplyTo(v4), h.Sink);
        var (_, to, v6) = Assert.Single(h.Take());
        Assert.Equal(RelayAt, to);
        Assert.True(Ipv6Packet.TryParse(v6, out var ip6));
        Assert.Equal(StaticAddress, ip6.Source);
    }

    [Fact]
    public void Leases_for_the_peers_own_address_its_pool_or_another_coordinator_are_refused_and_released()
    {
        var h = new Ipv4PeerHarness();
        var foreign = CoordinatorAddress.Dynamic(new Ipv4Address(198, 18, 0, 2), Host4).ToIpv6();
        h.Lease(Local);
        h.Lease(new Ipv4Address(10, 255, 46, 9));
        h.Engine.OnLeaseGranted(h.Now, new LeaseGranted(foreign, 30, []), h.Sink);
        var released = new List<Ipv6Address>();
        h.Engine.TakeRefusedLeases(released);
        Assert.Equal([T(Local), T(new Ipv4Address(10, 255, 46, 9)), foreign], released);
        Assert.Equal(0, h.Engine.LeaseCount);

        h.FromRelay(EchoRequest(T(Local)));
        Assert.Empty(h.Take());
    }

    public static TheoryData<string, string> NonGlobalClasses()
    {
        var data = new TheoryData<string, string>();
        foreach (var range in SpecialPurposeIpv4.Ranges)
        {
            if (range.Network == new Ipv4Address(198, 18, 0, 0)) continue; // the harness allows the lab's range
            var probe = range.Length == 32 ? range.Network : new Ipv4Address(range.Network.Value + 3);
            data.Add(probe.ToString(), range.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NonGlobalClasses))]
    public void Each_RFC_6890_class_is_refused_with_ICMPv6_administratively_prohibited_from_T_D(string destination, string name)
    {
        var h = new Ipv4PeerHarness();
        var d = Ipv4Address.Parse(destination);
        h.Lease(d);
        h.FromRelay(EchoRequest(T(d)));

        var (route, to, bytes) = Assert.Single(h.Take());
        Assert.True(route == OutputRoute.Udp, name);
        Assert.Equal(RelayAt, to);
        Assert.True(Ipv6Packet.TryParse(bytes, out var ip));
        Assert.Equal(T(d), ip.Source); // a relay accepts from us only the address it mapped to our socket
        Assert.Equal(User, ip.Destination);
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.Equal(Icmpv6Type.DestinationUnreachable, icmp.Type);
        Assert.Equal(1, icmp.Code);
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(1, h.Engine.Translator!.Counters[Teredo.Nat64.Nat64Counter.Drop6DestinationProhibited]);
    }

    [Fact]
    public void Allowed_destination_exception_is_translated()
    {
        var h = new Ipv4PeerHarness(o => o with { AllowedDestinations = [(new Ipv4Address(10, 9, 0, 0), 16)] });
        h.Lease(new Ipv4Address(10, 9, 1, 1));
        h.FromRelay(EchoRequest(T(new Ipv4Address(10, 9, 1, 1))));
        Assert.Equal(OutputRoute.Tun, Assert.Single(h.Take()).Route);
    }

    [Fact]
    public void A_reply_for_a_source_never_heard_has_no_relay_and_is_counted()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.FromRelay(EchoRequest(T(Host4)));
        var v4 = Assert.Single(h.Take()).Bytes;
        h.Engine.OnWelcome(h.Now, Welcome); // a new session: leases gone, routes kept
        h.Lease(Host4);
        h.Engine.Relays.Clear();
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, EchoReplyTo(v4), h.Sink);
        Assert.Empty(h.Take());
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.TunNoRelay]);
    }

    [Fact]
    public void A_reply_after_the_lease_ended_is_not_sent_from_an_address_no_longer_held()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.FromRelay(EchoRequest(T(Host4)));
        var v4 = Assert.Single(h.Take()).Bytes;
        h.Engine.OnLeaseEnded(T(Host4));
        h.Engine.OnDevicePacket(h.Now, Ipv4PeerEngine.TunDevice, EchoReplyTo(v4), h.Sink);
        Assert.Empty(h.Take());
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.TunSourceNotHeld]);
    }

    [Fact]
    public void Bandwidth_cap_drops_what_exceeds_the_bucket()
    {
        var h = new Ipv4PeerHarness(o => o with { RateLimitMbit = 1, PerSourcePacketsPerSecond = 0 });
        h.Lease(Host4);
        for (int i = 0; i < 100; i++) h.FromRelay(EchoRequest(T(Host4), (ushort)i, dataLength: 1000));
        long limited = h.Engine.Counters[Ipv4PeerCounter.UdpBandwidthLimited];
        // 1 Mbit/s = 125 000 B/s; the burst is a tenth of a second but at least 16 full packets.
        Assert.Equal(100 - 24000 / 1048, limited);
        h.Now += 1000;
        h.Take();
        h.FromRelay(EchoRequest(T(Host4), 500, dataLength: 1000));
        Assert.Single(h.Take());
    }

    [Fact]
    public void One_source_cannot_take_more_than_its_share()
    {
        var h = new Ipv4PeerHarness(o => o with { PerSourcePacketsPerSecond = 10, PerSourceBurst = 5 });
        h.Lease(Host4);
        for (int i = 0; i < 20; i++) h.FromRelay(EchoRequest(T(Host4), (ushort)i));
        Assert.Equal(15, h.Engine.Counters[Ipv4PeerCounter.UdpSourceRateLimited]);
        var other = Ipv6Address.Parse("2001:db8:6::99");
        h.FromRelay(EchoRequest(T(Host4), 1, other));
        Assert.Equal(6, h.Engine.Counters[Ipv4PeerCounter.UdpTranslated]);
    }

    [Fact]
    public void The_relay_table_is_bounded_and_forgets_the_least_recently_heard()
    {
        var h = new Ipv4PeerHarness(o => o with { MaxRelayRoutes = 2 });
        h.Lease(Host4);
        var a = Ipv6Address.Parse("2001:db8:6::a");
        var b = Ipv6Address.Parse("2001:db8:6::b");
        var c = Ipv6Address.Parse("2001:db8:6::c");
        h.FromRelay(EchoRequest(T(Host4), 1, a));
        h.FromRelay(EchoRequest(T(Host4), 1, b));
        h.FromRelay(EchoRequest(T(Host4), 2, a));
        h.FromRelay(EchoRequest(T(Host4), 1, c));
        Assert.Equal(2, h.Engine.Relays.Count);
        Assert.True(h.Engine.Relays.TryGet(a, out _));
        Assert.False(h.Engine.Relays.TryGet(b, out _));
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.RelayRoutesEvicted]);

        h.Now += h.Engine.Options.RelayRouteIdleSeconds * 1000L + 1;
        h.Engine.OnTimer(h.Now, h.Sink);
        Assert.Equal(0, h.Engine.Relays.Count);
    }

    [Fact]
    public void Use_reports_carry_packets_since_the_last_report_and_idle_seconds()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.Lease(new Ipv4Address(198, 18, 0, 101));
        h.FromRelay(EchoRequest(T(Host4)));
        h.FromRelay(EchoRequest(T(Host4)));
        h.FromRelay(EchoRequest(StaticAddress));
        h.Now += 3000;
        var report = new List<LeaseUse>();
        h.Engine.CollectUseReport(h.Now, report);
        Assert.Equal(2, report.Count);
        Assert.Contains(new LeaseUse(T(Host4), 2, 3), report);
        Assert.Contains(new LeaseUse(StaticAddress, 1, 3), report);
        report.Clear();
        h.Engine.CollectUseReport(h.Now, report);
        Assert.Empty(report);
    }

    [Fact]
    public void Leases_past_their_end_and_grace_are_dropped_renewals_keep_them()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4, idleSeconds: 30);
        h.Lease(new Ipv4Address(198, 18, 0, 101), idleSeconds: 30);
        h.Engine.OnLeaseRenewed(h.Now, new LeaseRenewed(T(Host4), 300));
        h.Now += (30 + h.Engine.Options.LeaseGraceSeconds) * 1000L + 1;
        h.Engine.OnTimer(h.Now, h.Sink);
        Assert.True(h.Engine.IsHeld(T(Host4)));
        Assert.False(h.Engine.IsHeld(T(new Ipv4Address(198, 18, 0, 101))));
        Assert.True(h.Engine.IsHeld(StaticAddress));
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.LeasesExpiredLocally]);
    }

    [Fact]
    public void A_disconnect_drops_leases_but_keeps_the_static_address()
    {
        var h = new Ipv4PeerHarness();
        h.Lease(Host4);
        h.Engine.OnDisconnected();
        Assert.False(h.Engine.IsHeld(T(Host4)));
        Assert.True(h.Engine.IsHeld(StaticAddress));
    }

    [Fact]
    public void Bubbles_and_malformed_datagrams_are_counted()
    {
        var h = new Ipv4PeerHarness();
        var bubble = new byte[Bubble.Length];
        Bubble.Emit(bubble, RelayNonce, T(Host4));
        h.FromRelay(bubble);
        h.FromRelay([1, 2, 3]);
        Assert.Empty(h.Take());
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.UdpBubbleReceived]);
        Assert.Equal(1, h.Engine.Counters[Ipv4PeerCounter.UdpMalformed]);
    }
}

/// <summary>Literal packets the tests need beside the harness's builders.</summary>
internal sealed class Ipv4PeerHarnessPackets
{
    /// <summary>A 28-byte IPv4/ICMP echo reply from 198.18.0.100 to 10.255.46.2.</summary>
    public byte[] AnyIpv4 { get; } =
    [
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 198, 18, 0, 100, 10, 255, 46, 2,
        0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    ];
}
