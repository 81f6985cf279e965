using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;
using Teredo.Tests.Support;
using static Teredo.Tests.P2p.CoordinatorHarness;

namespace Teredo.Tests.P2p;

/// <summary>The coordinator engine with a fake clock: sessions, static addresses, the lease life cycle, stickiness, moves, bounds.</summary>
public class CoordinatorEngineTests
{
    private static readonly Ipv4Address Host4 = Ipv4Address.Parse("198.18.0.100");

    private static CoordinatorOptions Generous(CoordinatorOptions o) => o with
    {
        BubbleRatePerRelay = 0, NotificationRatePerTarget = 0, NewLeaseRate = 1_000_000, NewLeaseBurst = 1_000_000,
    };

    [Fact]
    public void Hello_gets_a_welcome_with_the_prefix_a_journaled_static_address_and_the_timing()
    {
        var h = new CoordinatorHarness();
        var w = h.Join(1, 0xABCDEF);
        Assert.Equal(S, w.Coordinator);
        Assert.Equal(CoordinatorAddress.Prefix(S).Upper, w.Prefix);
        Assert.True(w.HasStaticAddress);
        Assert.True(CoordinatorAddress.TryParse(w.StaticAddress, out var a, out _));
        Assert.Equal(CoordinatorAddressKind.Static, a.Kind);
        Assert.Equal(Ipv4Address.Parse("10.3.0.2"), a.Embedded);
        Assert.Equal(w.StaticSuffix, a.Suffix);
        Assert.Equal((ushort)120, w.KeepaliveSeconds);
        Assert.Equal(new KeyValuePair<UInt128, uint>(0xABCDEF, w.StaticSuffix), Assert.Single(h.Journal.Records));
    }

    [Fact]
    public void Static_address_is_stable_across_reconnects_and_restarts_and_unique_per_identity()
    {
        var h = new CoordinatorHarness();
        var first = h.Join(1, 7);
        h.Engine.OnDisconnected(1, h.Now);
        var again = h.Join(2, 7, local: "10.3.0.9"); // same identity, new local address: same suffix
        Assert.Equal(first.StaticSuffix, again.StaticSuffix);
        Assert.Equal(Ipv4Address.Parse("10.3.0.9"), (CoordinatorAddress.TryParse(again.StaticAddress, out var a, out _) ? a : default).Embedded);
        var other = h.Join(3, 8);
        Assert.NotEqual(first.StaticSuffix, other.StaticSuffix);
        Assert.Equal(2, h.Journal.Records.Count); // a reconnect writes nothing

        var restarted = new CoordinatorHarness(journal: h.Journal);
        Assert.Equal(first.StaticSuffix, restarted.Join(10, 7).StaticSuffix);
        Assert.Equal(other.StaticSuffix, restarted.Join(11, 8).StaticSuffix);
        Assert.Equal(2, h.Journal.Records.Count);
    }

    [Fact]
    public void A_peer_without_a_private_address_joins_without_a_static_address()
    {
        var h = new CoordinatorHarness();
        var w = h.Join(1, 5, local: "198.18.5.5");
        Assert.False(w.HasStaticAddress);
        Assert.Equal(1, h.Counter(CoordinatorCounter.NoStaticAddressNotPrivate));
    }

    [Fact]
    public void First_bubble_leases_T_of_D_and_notifies_the_owner_with_the_relay_and_its_nonce()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Bubble(T(Host4));
        var granted = Assert.Single(h.Sink.Of<LeaseGranted>(1));
        Assert.Equal(T(Host4), granted.Address);
        Assert.Equal(new BubbleNotification(RelayEndpoint, Nonce, T(Host4)), Assert.Single(h.Sink.Of<BubbleNotification>(1)));
        var lease = h.Engine.LeaseFor(Host4)!;
        Assert.False(lease.Proven);
        Assert.Equal(new RelaySighting(RelayEndpoint, Nonce), Assert.Single(lease.Relays.ToArray()));
        // The relay's retry goes to the same lease.
        h.Bubble(T(Host4));
        Assert.Single(h.Sink.Of<LeaseGranted>(1));
        Assert.Equal(2, h.Sink.Of<BubbleNotification>(1).Count);
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Lease_is_renewed_while_used_and_released_when_idle()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Bubble(T(Host4));
        for (int i = 0; i < 10; i++)
        {
            h.Now += 60_000;
            h.Message(1, new KeepaliveMessage((uint)i));
            h.Use(1, T(Host4), 10);
            h.Engine.Tick(h.Now);
        }
        Assert.Equal(10, h.Sink.Of<LeaseRenewed>(1).Count);
        Assert.True(h.Engine.LeaseFor(Host4)!.Proven);
        // Idle: reports with no packets do not renew; after the idle timeout the lease ends.
        h.Now += 200_000;
        h.Use(1, T(Host4), 0, 200);
        h.Engine.Tick(h.Now);
        Assert.NotNull(h.Engine.LeaseFor(Host4));
        h.Now += 101_000;
        h.Message(1, new KeepaliveMessage(99));
        h.Engine.Tick(h.Now);
        Assert.Null(h.Engine.LeaseFor(Host4));
        Assert.Equal(new LeaseReleased(T(Host4), LeaseEndReason.Idle), Assert.Single(h.Sink.Of<LeaseReleased>(1)));
        Assert.Equal(1, h.Counter(CoordinatorCounter.LeasesExpired));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void A_lease_no_traffic_follows_ends_after_probation_and_a_peer_may_give_one_back()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Bubble(T(Host4));
        h.Now += 29_000;
        h.Engine.Tick(h.Now);
        Assert.NotNull(h.Engine.LeaseFor(Host4));
        h.Now += 2_000;
        h.Message(1, new KeepaliveMessage(1));
        h.Engine.Tick(h.Now);
        Assert.Null(h.Engine.LeaseFor(Host4));

        h.Bubble(T(Host4));
        h.Message(1, new LeaseReleased(T(Host4), LeaseEndReason.PeerReleased));
        Assert.Null(h.Engine.LeaseFor(Host4));
        Assert.Equal(1, h.Counter(CoordinatorCounter.LeasesReleasedByPeer));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Destinations_stick_to_one_peer_weighted_by_capacity()
    {
        var h = new CoordinatorHarness(Generous);
        h.Join(1, 101, capacity: 3000);
        h.Join(2, 102, capacity: 1000);
        h.Join(3, 103, capacity: 1000);
        var owners = new Dictionary<int, UInt128>();
        for (int i = 0; i < 3000; i++)
        {
            h.Bubble(T(D(i)));
            owners[i] = h.Engine.LeaseFor(D(i))!.Owner.Identity;
        }
        int big = owners.Values.Count(o => o == 101);
        // Weight 3 of 5: about 1800 of 3000; a loose band (this is hashing, not timing).
        Assert.InRange(big, 1500, 2100);

        // Every lease ends; the same destinations come back to the same peers.
        h.Now += 31_000;
        foreach (long s in new long[] { 1, 2, 3 }) h.Message(s, new KeepaliveMessage(0));
        h.Engine.Tick(h.Now);
        Assert.Empty(h.Engine.Leases);
        for (int i = 0; i < 3000; i++)
        {
            h.Bubble(T(D(i)));
            Assert.Equal(owners[i], h.Engine.LeaseFor(D(i))!.Owner.Identity);
        }

        // A peer leaving moves only its own destinations.
        h.Engine.OnDisconnected(3, h.Now);
        for (int i = 0; i < 3000; i++)
            if (owners[i] != 103) Assert.Equal(owners[i], h.Engine.LeaseFor(D(i))!.Owner.Identity);
        h.AssertCountersAddUp();
    }

    [Fact]
    public void When_the_owner_leaves_the_lease_moves_with_the_relays_it_was_seen_from()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Join(2, 2);
        var relay2 = new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.21"), 40000);
        var nonce2 = Ipv6Address.Parse("fe80::1234");
        h.Bubble(T(Host4));
        h.Bubble(T(Host4), relay2, nonce2);
        var lease = h.Engine.LeaseFor(Host4)!;
        long owner = lease.Owner.Session, other = owner == 1 ? 2 : 1;
        h.Use(owner, T(Host4), 3);

        h.Message(owner, new GoodbyeMessage(GoodbyeReason.Shutdown, ""));
        Assert.Contains(owner, h.Sink.Closed);
        var moved = Assert.Single(h.Sink.Of<LeaseGranted>(other));
        Assert.Equal(T(Host4), moved.Address);
        Assert.Equal([new RelaySighting(RelayEndpoint, Nonce), new RelaySighting(relay2, nonce2)], moved.Relays);
        Assert.Equal(other, h.Engine.LeaseFor(Host4)!.Owner.Session);
        Assert.Equal(1, h.Counter(CoordinatorCounter.LeasesMoved));

        // The last peer leaving: nobody can take it.
        h.Engine.OnDisconnected(other, h.Now);
        Assert.Null(h.Engine.LeaseFor(Host4));
        Assert.Equal(1, h.Counter(CoordinatorCounter.LeasesDroppedNoOwner));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void A_reconnecting_identity_supersedes_its_old_session_and_takes_its_leases_back()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Join(2, 2);
        for (int i = 0; i < 50; i++) h.Bubble(T(D(i)));
        var mine = h.Engine.Leases.Where(l => l.Owner.Session == 1).Select(l => l.Destination).ToList();
        Assert.NotEmpty(mine);
        h.Join(3, 1); // identity 1 again, on a new session
        Assert.Contains(1L, h.Sink.Closed);
        Assert.Equal(GoodbyeReason.Superseded, Assert.Single(h.Sink.Of<GoodbyeMessage>(1)).Reason);
        foreach (var d in mine) Assert.Equal(3, h.Engine.LeaseFor(d)!.Owner.Session);
        Assert.Equal(2, h.Engine.Peers.Count);
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Session_without_keepalives_times_out_and_its_leases_move()
    {
        // The defaults (keepalive 120 s, timeout 300 s): five keepalive intervals are past the timeout.
        var h = new CoordinatorHarness(o => o with { ProbationSeconds = 3600 });
        h.Join(1, 1);
        h.Join(2, 2);
        for (int i = 0; i < 20; i++) h.Bubble(T(D(i)));
        for (int t = 0; t < 5; t++)
        {
            h.Now += 120_000;
            h.Message(2, new KeepaliveMessage((uint)t)); // only peer 2 keeps talking
            h.Engine.Tick(h.Now);
        }
        Assert.Contains(1L, h.Sink.Closed);
        Assert.Equal(GoodbyeReason.Timeout, Assert.Single(h.Sink.Of<GoodbyeMessage>(1)).Reason);
        Assert.Equal(20, h.Engine.Leases.Count);
        Assert.All(h.Engine.Leases, l => Assert.Equal(2, l.Owner.Session));
        Assert.Equal(1, h.Counter(CoordinatorCounter.PeersTimedOut));
        Assert.Equal(5, h.Sink.Of<KeepaliveMessage>(2).Count); // every keepalive echoed
    }

    [Fact]
    public void Destinations_that_are_not_global_are_refused_unless_allowed()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        foreach (string d in new[] { "10.0.0.1", "127.0.0.1", "192.168.1.1", "100.64.0.1", "169.254.1.1", "224.0.0.1", "192.0.2.1", "0.1.2.3", "240.0.0.1" })
            h.Bubble(T(Ipv4Address.Parse(d)));
        Assert.Equal(9, h.Counter(CoordinatorCounter.BubbleDestinationRefused));
        Assert.Empty(h.Engine.Leases);
        h.Bubble(T(Host4)); // 198.18/15 is special, but AllowDestination lets it
        Assert.NotNull(h.Engine.LeaseFor(Host4));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Bubbles_outside_our_prefix_or_not_bubbles_are_dropped_and_counted()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Bubble(CoordinatorAddress.Dynamic(Ipv4Address.Parse("198.18.0.31"), Host4).ToIpv6()); // another coordinator's /64
        h.Bubble(Ipv6Address.Parse("2001:db8::1"));
        h.Engine.OnBubble(h.Now, RelayEndpoint, [0x60, 0, 0]);
        Span<byte> echo = stackalloc byte[64];
        int n = Teredo.Wire.Icmpv6Echo.Emit(echo, Nonce, T(Host4), true, 1, 1, []);
        h.Engine.OnBubble(h.Now, RelayEndpoint, echo[..n]);
        Assert.Equal(2, h.Counter(CoordinatorCounter.BubbleOtherPrefix));
        Assert.Equal(1, h.Counter(CoordinatorCounter.BubbleMalformed));
        Assert.Equal(1, h.Counter(CoordinatorCounter.BubbleNotBubble));
        Assert.Empty(h.Sink.Of<BubbleNotification>(1));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void A_bubble_for_a_static_address_goes_to_its_peer()
    {
        var h = new CoordinatorHarness();
        var w = h.Join(1, 1);
        h.Join(2, 2, local: "10.2.0.2");
        h.Bubble(w.StaticAddress);
        Assert.Equal(w.StaticAddress, Assert.Single(h.Sink.Of<BubbleNotification>(1)).Destination);
        Assert.Empty(h.Sink.Of<BubbleNotification>(2));
        Assert.Empty(h.Engine.Leases);
        // The same suffix with another embedded address is nobody's.
        h.Bubble(CoordinatorAddress.Static(S, Ipv4Address.Parse("10.9.9.9"), w.StaticSuffix).ToIpv6());
        Assert.Equal(1, h.Counter(CoordinatorCounter.BubbleStaticUnknown));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Notifications_toward_one_target_are_rate_limited_against_reflection()
    {
        var h = new CoordinatorHarness(o => o with { BubbleRatePerRelay = 0, NotificationRatePerTarget = 10, NotificationBurstPerTarget = 20 });
        h.Join(1, 1);
        // A spoofed "relay" (the victim) bubbling many destinations would make peers spray it.
        for (int i = 0; i < 1000; i++) h.Bubble(T(D(i)));
        Assert.Equal(20, h.Sink.Of<BubbleNotification>(1).Count);
        Assert.Equal(980, h.Counter(CoordinatorCounter.NotificationsReflectionLimited));
        h.Now += 1000;
        h.Bubble(T(D(5)));
        Assert.Equal(21, h.Sink.Of<BubbleNotification>(1).Count);
        // Another target is not affected.
        h.Bubble(T(D(6)), new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.21"), 3544));
        Assert.Equal(22, h.Sink.Of<BubbleNotification>(1).Count);
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Bubble_intake_is_limited_per_relay_source()
    {
        var h = new CoordinatorHarness(o => o with { BubbleRatePerRelay = 100, BubbleBurstPerRelay = 100 });
        h.Join(1, 1);
        for (int i = 0; i < 500; i++) h.Bubble(T(Host4));
        Assert.Equal(400, h.Counter(CoordinatorCounter.BubbleIntakeLimited));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Bounds_on_peers_leases_per_peer_and_leases_in_total()
    {
        var h = new CoordinatorHarness(o => Generous(o) with { MaxPeers = 2, MaxLeasesPerPeer = 10, MaxLeases = 15, ProbationSeconds = 1000 });
        h.Join(1, 1);
        h.Join(2, 2, capacity: 5); // announces less than the coordinator's bound
        h.Message(3, new HelloMessage(1, 1, 3, Ipv4Address.Parse("10.0.0.3"), 10, 0, ""));
        Assert.Equal(ControlErrorCode.CoordinatorFull, Assert.Single(h.Sink.Of<ErrorMessage>(3)).Code);
        Assert.Contains(3L, h.Sink.Closed);

        for (int i = 0; i < 15; i++)
        {
            h.Bubble(T(D(i)));
            h.Use(h.Engine.LeaseFor(D(i))!.Owner.Session, T(D(i)), 1); // all proven
        }
        Assert.Equal(15, h.Engine.Leases.Count);
        Assert.Equal(10, h.Engine.PeerBySession(1)!.LeaseCount);
        Assert.Equal(5, h.Engine.PeerBySession(2)!.LeaseCount);
        h.Bubble(T(D(100)));
        Assert.Null(h.Engine.LeaseFor(D(100)));
        Assert.Equal(1, h.Counter(CoordinatorCounter.BubbleLeaseTableFull));
        h.AssertCountersAddUp();
    }

    [Fact]
    public void A_flood_of_bubbles_for_random_destinations_does_not_evict_active_leases()
    {
        var h = new CoordinatorHarness(o => o with { MaxLeases = 5000, NewLeaseRate = 1000, NewLeaseBurst = 2000, BubbleRatePerRelay = 200, NotificationRatePerTarget = 50 });
        h.Join(1, 1);
        h.Join(2, 2);
        h.Bubble(T(Host4));
        var owner = h.Engine.LeaseFor(Host4)!.Owner.Session;
        h.Use(owner, T(Host4), 10);

        var random = new Random(11);
        for (int i = 0; i < 200_000; i++)
        {
            if (i % 1000 == 0)
            {
                h.Now += 100; // 200k bubbles over 20 s of fake time
                foreach (long s in new long[] { 1, 2 }) h.Message(s, new KeepaliveMessage(0));
                h.Engine.Tick(h.Now);
                if (i % 20_000 == 0) h.Use(owner, T(Host4), 5);
            }
            var relay = new Ipv4Endpoint(new Ipv4Address((uint)random.Next(0x0B00_0000, 0x5F00_0000)), (ushort)random.Next(1024, 65535));
            h.Bubble(T(new Ipv4Address((uint)random.Next(0x0B00_0000, 0x5F00_0000))), relay);
        }
        var lease = h.Engine.LeaseFor(Host4);
        Assert.NotNull(lease);
        Assert.Equal(owner, lease!.Owner.Session);
        Assert.True(h.Engine.Leases.Count <= 5000);
        // New leases are bounded by the new-lease budget: burst + rate × 20 s.
        Assert.True(h.Counter(CoordinatorCounter.LeasesGranted) <= 2000 + 1000 * 21, $"{h.Counter(CoordinatorCounter.LeasesGranted)} leases");
        Assert.True(h.Counter(CoordinatorCounter.BubbleNewLeaseLimited) > 100_000);
        Assert.True(h.Counter(CoordinatorCounter.LeasesEvictedUnproven) > 0);
        // The established flow still works: its relay's next bubble reaches its owner.
        int before = h.Sink.Of<BubbleNotification>(owner).Count;
        h.Now += 1000;
        h.Bubble(T(Host4));
        Assert.Equal(before + 1, h.Sink.Of<BubbleNotification>(owner).Count);
        h.AssertCountersAddUp();
    }

    [Fact]
    public void Bad_frames_close_that_session_only()
    {
        var h = new CoordinatorHarness();
        h.Join(1, 1);
        h.Join(2, 2);
        h.Engine.OnMessage(1, h.Now, (ControlMessageType)0x7F, [1, 2, 3]);
        Assert.Contains(1L, h.Sink.Closed);
        Assert.Equal(ControlErrorCode.UnexpectedMessage, Assert.Single(h.Sink.Of<ErrorMessage>(1)).Code);
        h.Engine.OnMessage(2, h.Now, ControlMessageType.Keepalive, [0, 0, 0, 9]);
        Assert.DoesNotContain(2L, h.Sink.Closed);
        Assert.Equal(9u, Assert.Single(h.Sink.Of<KeepaliveMessage>(2)).Sequence);
        // A frame before hello, and a broken length.
        h.Message(5, new KeepaliveMessage(1));
        Assert.Contains(5L, h.Sink.Closed);
        h.Engine.OnMalformedFrame(2, h.Now);
        Assert.Contains(2L, h.Sink.Closed);
        Assert.Empty(h.Engine.Peers);
        Assert.Equal(3, h.Counter(CoordinatorCounter.ProtocolErrors));
    }

    [Fact]
    public void Version_and_token_checks()
    {
        var h = new CoordinatorHarness(o => o with { Tokens = new HashSet<string> { "s3cret" } });
        h.Message(1, new HelloMessage(2, 5, 1, Ipv4Address.Parse("10.0.0.2"), 10, 0, "s3cret"));
        Assert.Equal(ControlErrorCode.VersionUnsupported, Assert.Single(h.Sink.Of<ErrorMessage>(1)).Code);
        h.Message(2, new HelloMessage(1, 1, 1, Ipv4Address.Parse("10.0.0.2"), 10, 0, "guess"));
        Assert.Equal(ControlErrorCode.Unauthorized, Assert.Single(h.Sink.Of<ErrorMessage>(2)).Code);
        h.Join(3, 1, token: "s3cret");
        h.Message(4, new HelloMessage(1, 3, 4, Ipv4Address.Parse("10.0.0.2"), 10, 0, "s3cret")); // a range that includes 1
        Assert.Single(h.Sink.Of<WelcomeMessage>(4));
        Assert.Equal(1, h.Counter(CoordinatorCounter.HelloRejectedVersion));
        Assert.Equal(1, h.Counter(CoordinatorCounter.HelloRejectedToken));
        Assert.Equal(2, h.Engine.Peers.Count);
    }

    private sealed class CountingSink : ICoordinatorSink
    {
        public long Frames;
        public bool Send(long session, ReadOnlySpan<byte> frame) { Frames++; return true; }
        public void Close(long session) { }
    }

    [Fact]
    public void The_bubble_to_notification_path_allocates_nothing()
    {
        var sink = new CountingSink();
        var engine = new CoordinatorEngine(new CoordinatorOptions { Address = S, AllowDestinations = [new(Ipv4Address.Parse("198.18.0.0"), 15)],
            BubbleRatePerRelay = 0, NotificationRatePerTarget = 0 }, sink, new MemoryJournal());
        var hello = ControlFrame.ToArray(new HelloMessage(1, 1, 1, Ipv4Address.Parse("10.0.0.2"), 10, 0, ""));
        ControlFrame.TryRead(hello, out var type, out var body, out _);
        engine.OnMessage(1, 0, type, body);
        var bubble = new byte[Teredo.Wire.Bubble.Length];
        Teredo.Wire.Bubble.Emit(bubble, Nonce, T(Host4));
        engine.OnBubble(1, RelayEndpoint, bubble); // creates the lease
        Assert.Equal(3, sink.Frames); // welcome, granted, first notification
        long now = 2;
        Assert.Equal(0, Allocations.Measure(count => { for (int i = 0; i < count; i++) engine.OnBubble(now++, RelayEndpoint, bubble); }, warmup: 1_000));
        Assert.Equal(3 + now - 2, sink.Frames); // then one per bubble
    }
}
