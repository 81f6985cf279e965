using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.P2p.Ipv6PeerPackets;

namespace Teredo.Tests.P2p;

public class Ipv6PeerEngineTests
{
    private static readonly Ipv6Address PooledFirst = Ipv6Address.Parse("2001:db8:100::2");

    private static byte[] Single(ListSink sink)
    {
        var packets = sink.Take();
        var only = Assert.Single(packets);
        Assert.Equal(OutputRoute.Tun, only.Route);
        return only.Bytes;
    }

    [Fact]
    public void Udp_is_rewritten_both_ways_to_the_literal_vectors()
    {
        // Built and checksummed independently (Python's struct and the RFC 1071 sum), not by the engine.
        var fromClient = Convert.FromHexString("600000000014114020010db800010000000000000000001020010db80064000000000000c61264019c40003500144d5568656c6c6f20763670656572");
        var toRelay = Convert.FromHexString("600000000014113f20010db801000000000000000000000220010000c612000100c61264010000009c4000350014aa5668656c6c6f20763670656572");
        var fromRelay = Convert.FromHexString("60000000000e113220010000c612000100c612640100000020010db801000000000000000000000200359c40000e000b616e73776572");
        var toClient = Convert.FromHexString("60000000000e113120010db80064000000000000c612640120010db800010000000000000000001000359c40000ea309616e73776572");
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();

        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, fromClient, sink);
        Assert.Equal(toRelay, Single(sink));
        engine.OnDevicePacket(10, Ipv6PeerEngine.TunDevice, fromRelay, sink);
        Assert.Equal(toClient, Single(sink));
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.ForwardedToCoordinator]);
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.ForwardedToClient]);
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.MappingsCreated]);
    }

    [Theory]
    [InlineData(IpProtocol.Tcp)]
    [InlineData(IpProtocol.Udp)]
    [InlineData(IpProtocol.Icmpv6)]
    public void Every_protocol_keeps_a_valid_checksum_through_both_rewrites(byte protocol)
    {
        var engine = new Ipv6PeerEngine(Options(coordinators: 3));
        var sink = new ListSink();
        for (uint i = 0; i < 50; i++)
        {
            var d = new Ipv4Address(198, 18, 100, (byte)(i + 1));
            var client = new Ipv6Address(ClientAddr.Value + i);
            engine.OnDevicePacket(i, Ipv6PeerEngine.TunDevice, Build(client, Nat64Of(d)), sink);
            var forwarded = Single(sink);
            Assert.True(Ipv6Packet.TryParse(forwarded, out var outbound));
            int k = engine.Ring.Choose(i, d);
            Assert.Equal(TeredoOf(Coordinators[k], d), outbound.Destination);
            Assert.True(outbound.Source.IsIn(Pool, 112));
            Assert.Equal(63, outbound.HopLimit);
            Assert.True(ChecksumValid(forwarded));

            engine.OnDevicePacket(i, Ipv6PeerEngine.TunDevice, Build(outbound.Destination, outbound.Source, reply: true), sink);
            var back = Single(sink);
            Assert.True(Ipv6Packet.TryParse(back, out var inbound));
            Assert.Equal(Nat64Of(d), inbound.Source);
            Assert.Equal(client, inbound.Destination);
            Assert.True(ChecksumValid(back));
        }

        byte[] Build(Ipv6Address s, Ipv6Address t, bool reply = false) => protocol switch
        {
            IpProtocol.Tcp => Tcp(s, t),
            IpProtocol.Udp => Udp(s, t),
            _ => Echo(s, t, request: !reply),
        };
    }

    [Fact]
    public void Any_rfc6052_prefix_length_is_served()
    {
        foreach (int length in new[] { 32, 40, 48, 56, 64, 96 })
        {
            var options = Options();
            // 3fff::/20 is documentation space too (RFC 9637), and a /32 of it stays clear of the pool.
            options.Prefix = Ipv6Address.Parse("3fff:64::");
            options.PrefixLength = length;
            var engine = new Ipv6PeerEngine(options);
            var sink = new ListSink();
            var nat64 = Teredo.Addressing.Ipv4EmbeddedIpv6.Embed(options.Prefix, length, Destination);
            engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, nat64), sink);
            Assert.True(Ipv6Packet.TryParse(Single(sink), out var outbound));
            Assert.Equal(TeredoOf(Coordinators[0], Destination), outbound.Destination);
            engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(outbound.Destination, outbound.Source), sink);
            Assert.True(Ipv6Packet.TryParse(Single(sink), out var inbound));
            Assert.Equal(nat64, inbound.Source);
        }
    }

    [Fact]
    public void Clients_outside_the_served_networks_are_dropped_silently()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(Ipv6Address.Parse("2001:db8:2::10"), Nat64Of(Destination)), sink);
        Assert.Empty(sink.Take());
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.DropSourceNotServed]);
        Assert.Equal(0, engine.Pool.Count);
    }

    [Fact]
    public void A_destination_that_is_not_global_gets_administratively_prohibited()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        var offending = Udp(ClientAddr, Nat64Of(new Ipv4Address(10, 1, 2, 3)));
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, offending, sink);
        var error = Single(sink);
        Assert.True(Ipv6Packet.TryParse(error, out var ip));
        Assert.Equal(engine.Options.OwnAddress, ip.Source);
        Assert.Equal(ClientAddr, ip.Destination);
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.True(Icmpv6DestinationUnreachable.TryParse(icmp, out var code, out var quoted));
        Assert.Equal(UnreachableCode.AdministrativelyProhibited, code);
        Assert.Equal(offending, quoted.ToArray());
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.DestinationNotGlobal]);
        Assert.Equal(0, engine.Pool.Count);

        // The same destination is served once an operator allows it.
        var options = Options();
        options.AllowedDestinations.Add((new Ipv4Address(10, 0, 0, 0), 8));
        var allowed = new Ipv6PeerEngine(options);
        allowed.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, offending, sink);
        Assert.True(Ipv6Packet.TryParse(Single(sink), out var forwarded));
        Assert.Equal(TeredoOf(Coordinators[0], new Ipv4Address(10, 1, 2, 3)), forwarded.Destination);
    }

    [Fact]
    public void Hop_limit_expiry_answers_time_exceeded_so_traceroute_sees_this_hop()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination), hopLimit: 1), sink);
        Assert.True(Ipv6Packet.TryParse(Single(sink), out var ip));
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.Equal(Icmpv6Type.TimeExceeded, icmp.Type);
        Assert.Equal(engine.Options.OwnAddress, ip.Source);
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.HopLimitExceeded]);
    }

    [Fact]
    public void Anything_else_arriving_on_the_pool_is_dropped_and_counted()
    {
        var engine = new Ipv6PeerEngine(Options(coordinators: 2));
        var sink = new ListSink();
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination)), sink);
        sink.Take();
        var t = TeredoOf(Coordinators[engine.Ring.Choose(0, Destination)], Destination);

        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(t, Ipv6Address.Parse("2001:db8:100::9")), sink);                        // unmapped pool address
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(Ipv6Address.Parse("2001:db8:5::1"), PooledFirst), sink);                 // not a coordinator
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(TeredoOf(new Ipv4Address(198, 18, 0, 99), Destination), PooledFirst), sink); // unknown coordinator
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(TeredoOf(Coordinators[0], new Ipv4Address(192, 168, 1, 1)), PooledFirst), sink); // T(private D)
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(Ipv6Address.Parse("2001:0:c612:1:0:c0a8:101:5"), PooledFirst), sink);   // a static address
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Udp(t, Ipv6Address.Parse("2001:db8:7::1")), sink);                          // neither prefix nor pool
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, [0x60, 0, 0], sink);                                                          // malformed
        Assert.Empty(sink.Take());
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.DropPoolNotMapped]);
        Assert.Equal(4, engine.Counters[Ipv6PeerCounter.DropSourceNotCoordinator]);
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.DropNotForUs]);
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.DropMalformed]);
    }

    [Fact]
    public void Packet_too_big_from_a_relay_reaches_the_client_about_its_own_packet()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        var original = Udp(ClientAddr, Nat64Of(Destination), payload: 1400);
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, original, sink);
        var sent = Single(sink);
        // The relay quotes what fits in 1280 bytes: the inner UDP checksum survives, its payload is cut.
        var ptb = Error(RelayAddr, PooledFirst, Icmpv6Type.PacketTooBig, 0, 1280, sent, quote: 1280 - 48);
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, ptb, sink);
        var delivered = Single(sink);

        Assert.True(Ipv6Packet.TryParse(delivered, out var ip));
        Assert.Equal(RelayAddr, ip.Source);                  // the real hop, as traceroute should show it
        Assert.Equal(ClientAddr, ip.Destination);
        Assert.True(ChecksumValid(delivered));
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.Equal(Icmpv6Type.PacketTooBig, icmp.Type);
        Assert.Equal(1280u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(icmp.Body));
        // The quote is now C's packet as C sent it (less the hop the peer took), cut to the same length.
        var quote = icmp.Body.Slice(4).ToArray();
        Assert.Equal(original.AsSpan(0, 7).ToArray(), quote.AsSpan(0, 7).ToArray());
        Assert.Equal(original.AsSpan(8, quote.Length - 8).ToArray(), quote.AsSpan(8).ToArray());
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.IcmpErrorsForwarded]);
    }

    [Fact]
    public void Errors_from_the_ipv4_peer_come_from_the_nat64_address_with_inner_checksums_fixed()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        var original = Echo(ClientAddr, Nat64Of(Destination));
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, original, sink);
        var sent = Single(sink);
        var t = TeredoOf(Coordinators[0], Destination);
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Error(t, PooledFirst, Icmpv6Type.DestinationUnreachable, 4, 0, sent), sink);
        var delivered = Single(sink);
        Assert.True(Ipv6Packet.TryParse(delivered, out var ip));
        Assert.Equal(Nat64Of(Destination), ip.Source);
        Assert.True(ChecksumValid(delivered));
        var inner = ip.Payload.Slice(8);
        Assert.True(ChecksumValid(inner));               // the quoted echo's own checksum, whole
        Assert.Equal(original.AsSpan(8).ToArray(), inner.Slice(8).ToArray());
    }

    [Fact]
    public void Errors_quoting_a_packet_that_is_not_ours_are_dropped()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination)), sink);
        sink.Take();
        var stranger = Udp(PooledFirst, Ipv6Address.Parse("2001:db8:9::1"));
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Error(RelayAddr, PooledFirst, Icmpv6Type.PacketTooBig, 0, 1280, stranger), sink);
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Error(RelayAddr, PooledFirst, Icmpv6Type.PacketTooBig, 0, 1280, stranger, quote: 20), sink);
        Assert.Empty(sink.Take());
        Assert.Equal(2, engine.Counters[Ipv6PeerCounter.DropIcmpErrorNotOurs]);
    }

    [Fact]
    public void A_clients_own_error_about_a_reply_goes_out_with_the_quote_rewritten()
    {
        var engine = new Ipv6PeerEngine(Options());
        var sink = new ListSink();
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination)), sink);
        sink.Take();
        var t = TeredoOf(Coordinators[0], Destination);
        // C got N::D → C on a closed port and says so.
        var reply = Udp(Nat64Of(Destination), ClientAddr, sourcePort: 53, destinationPort: 40000);
        engine.OnDevicePacket(1, Ipv6PeerEngine.TunDevice, Error(ClientAddr, Nat64Of(Destination), Icmpv6Type.DestinationUnreachable, 4, 0, reply), sink);
        var sent = Single(sink);
        Assert.True(Ipv6Packet.TryParse(sent, out var ip));
        Assert.Equal(PooledFirst, ip.Source);
        Assert.Equal(t, ip.Destination);
        Assert.True(ChecksumValid(sent));
        var inner = ip.Payload.Slice(8);
        Assert.True(Ipv6Packet.TryParse(inner, out var quoted));
        Assert.Equal(t, quoted.Source);
        Assert.Equal(PooledFirst, quoted.Destination);
        Assert.True(ChecksumValid(inner));
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.ClientIcmpErrorsForwarded]);
    }

    [Fact]
    public void The_pool_is_bounded_and_reuses_an_address_only_after_it_expired_and_last()
    {
        var options = Options(poolLength: 124); // 16 addresses: anycast, our own, 14 for clients
        options.MappingIdleTimeoutMs = 60_000;
        var engine = new Ipv6PeerEngine(options);
        Assert.Equal(14, engine.Pool.Capacity);
        var sink = new ListSink();
        var given = new List<Ipv6Address>();
        for (uint i = 0; i < 15; i++)
        {
            engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(new Ipv6Address(ClientAddr.Value + i), Nat64Of(Destination)), sink);
            if (i < 14)
            {
                Assert.True(Ipv6Packet.TryParse(Single(sink), out var ip));
                given.Add(ip.Source);
            }
        }
        Assert.Empty(sink.Take());
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.DropPoolExhausted]);
        Assert.Equal(14, given.Distinct().Count());
        Assert.DoesNotContain(engine.Options.OwnAddress, given);
        Assert.DoesNotContain(Pool, given);

        // ClientAddr 0 keeps talking (replies count too), the others go quiet: only they expire.
        for (long t = 10_000; t <= 70_000; t += 10_000)
        {
            engine.OnDevicePacket(t, Ipv6PeerEngine.TunDevice, Udp(TeredoOf(Coordinators[0], Destination), given[0]), sink);
            engine.OnTimer(t, sink);
        }
        sink.Take();
        Assert.Equal(13, engine.Counters[Ipv6PeerCounter.MappingsExpired]);
        Assert.Equal(1, engine.Pool.Count);

        // A new client gets the address released first, never client 0's.
        engine.OnDevicePacket(70_001, Ipv6PeerEngine.TunDevice, Udp(Ipv6Address.Parse("2001:db8:1::99"), Nat64Of(Destination)), sink);
        Assert.True(Ipv6Packet.TryParse(Single(sink), out var fresh));
        Assert.Equal(given[1], fresh.Source);
        engine.OnDevicePacket(70_002, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination)), sink);
        Assert.True(Ipv6Packet.TryParse(Single(sink), out var same));
        Assert.Equal(given[0], same.Source);
    }

    [Fact]
    public void Rendezvous_moves_only_the_share_of_a_coordinator_that_leaves()
    {
        var engine = new Ipv6PeerEngine(Options(coordinators: 3));
        var before = new int[3000];
        var share = new int[3];
        for (int i = 0; i < before.Length; i++)
        {
            before[i] = engine.Ring.Rendezvous(Spread(i), healthyOnly: true);
            share[before[i]]++;
        }
        Assert.All(share, s => Assert.True(s > 0));

        TakeDown(engine, 1);
        for (int i = 0; i < before.Length; i++)
        {
            int after = engine.Ring.Rendezvous(Spread(i), healthyOnly: true);
            if (before[i] == 1) Assert.NotEqual(1, after);
            else Assert.Equal(before[i], after);
        }

        // Same choices in a fresh engine: nothing depends on the process (no random seed).
        var again = new Ipv6PeerEngine(Options(coordinators: 3));
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], again.Ring.Rendezvous(Spread(i), healthyOnly: true));

        static Ipv4Address Spread(int i) => new((uint)(0x0800_0000 + i * 7919));
    }

    /// <summary>Sends to a destination on coordinator k and lets the response window run out without answers.</summary>
    private static long TakeDown(Ipv6PeerEngine engine, int k, long now = 0)
    {
        var sink = new ListSink();
        for (uint i = 0; ; i++)
        {
            var d = new Ipv4Address(198, 18, 10, (byte)i);
            if (engine.Ring.Rendezvous(d, healthyOnly: true) != k) continue;
            engine.OnDevicePacket(now, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(d)), sink);
            break;
        }
        for (; engine.Ring.Coordinators[k].Healthy; now += 100) engine.OnTimer(now, sink);
        return now;
    }

    [Fact]
    public void A_silent_coordinator_fails_over_after_the_response_window_and_flows_stick_after_it_returns()
    {
        var options = Options(coordinators: 3);
        options.ProbeTarget = new Ipv4Address(198, 18, 0, 200);
        options.ProbeIntervalMs = 3_000;
        options.ResponseWindowMs = 10_000;
        var engine = new Ipv6PeerEngine(options);
        var sink = new ListSink();
        int k = engine.Ring.Rendezvous(Destination, healthyOnly: true);
        var tk = TeredoOf(Coordinators[k], Destination);

        // A flow answered every 100 ms of virtual time; the probes are answered by every coordinator.
        long now = 0;
        long deathMs = 20_000;
        long? failoverMs = null;
        for (; now <= 60_000; now += 100)
        {
            engine.OnDevicePacket(now, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination)), sink);
            foreach (var (_, _, bytes) in sink.Take())
            {
                Assert.True(Ipv6Packet.TryParse(bytes, out var ip));
                int via = engine.Ring.IndexOf(ip.Destination);
                bool dead = via == k && now >= deathMs;
                if (ip.Destination != tk && failoverMs is null && now > deathMs && ip.NextHeader == IpProtocol.Udp) failoverMs = now;
                if (dead) continue;
                engine.OnDevicePacket(now, Ipv6PeerEngine.TunDevice, ip.NextHeader == IpProtocol.Udp
                    ? Udp(ip.Destination, ip.Source)
                    : Echo(ip.Destination, ip.Source, request: false), sink);
            }
            sink.Take();
            engine.OnTimer(now, sink);
        }
        Assert.NotNull(failoverMs);
        // In virtual time: the first unanswered packet leaves at the death, and the packet that finds the window
        // run out (10 s later) is already sent to another coordinator.
        Assert.Equal(deathMs + options.ResponseWindowMs, failoverMs);
        Assert.False(engine.Ring.Coordinators[k].Healthy);
        Assert.Equal(1, engine.Counters[Ipv6PeerCounter.CoordinatorsDown]);

        // The coordinator answers its probe again: it is back in the ring, but D stays where it moved.
        int moved = engine.Ring.Choose(now, Destination);
        Assert.NotEqual(k, moved);
        engine.OnDevicePacket(now, Ipv6PeerEngine.TunDevice, Echo(TeredoOf(Coordinators[k], options.ProbeTarget.Value), options.OwnAddress, request: false), sink);
        Assert.True(engine.Ring.Coordinators[k].Healthy);
        Assert.Equal(moved, engine.Ring.Choose(now, Destination));
        Assert.True(engine.Counters[Ipv6PeerCounter.ProbeRepliesReceived] > 0);
    }

    [Fact]
    public void A_coordinator_without_flows_is_found_dead_by_its_probes()
    {
        var options = Options(coordinators: 2);
        options.ProbeTarget = new Ipv4Address(198, 18, 0, 200);
        var engine = new Ipv6PeerEngine(options);
        var sink = new ListSink();
        long now = 0;
        for (; now < 40_000 && engine.Ring.Coordinators[1].Healthy; now += 100)
        {
            engine.OnTimer(now, sink);
            foreach (var (_, _, bytes) in sink.Take())
            {
                Assert.True(Ipv6Packet.TryParse(bytes, out var probe));
                Assert.Equal(options.OwnAddress, probe.Source);
                Assert.True(ChecksumValid(bytes));
                int k = engine.Ring.IndexOf(probe.Destination);
                Assert.Equal(TeredoOf(Coordinators[k], options.ProbeTarget.Value), probe.Destination);
                if (k == 0) engine.OnDevicePacket(now, Ipv6PeerEngine.TunDevice, Echo(probe.Destination, probe.Source, request: false), sink);
            }
        }
        // Probes at 0, 3 s, 6 s, ...: the first goes unanswered, and the window ends 10 s later.
        Assert.Equal(options.ResponseWindowMs + 100, now);
        Assert.True(engine.Ring.Coordinators[0].Healthy);
    }

    [Fact]
    public void Without_probes_a_downed_coordinator_gets_another_chance_after_the_hold_down()
    {
        var options = Options(coordinators: 2);
        var engine = new Ipv6PeerEngine(options);
        long down = TakeDown(engine, 0);
        var sink = new ListSink();
        engine.OnTimer(down + options.RetryAfterMs - 200, sink);
        Assert.False(engine.Ring.Coordinators[0].Healthy);
        engine.OnTimer(down + options.RetryAfterMs, sink);
        Assert.True(engine.Ring.Coordinators[0].Healthy);
    }

    [Fact]
    public void Garbage_never_throws_and_is_counted()
    {
        var engine = new Ipv6PeerEngine(Options(coordinators: 2));
        var sink = new ListSink();
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, Udp(ClientAddr, Nat64Of(Destination)), sink);
        var t = Assert.Single(sink.Take()).Bytes;
        Assert.True(Ipv6Packet.TryParse(t, out var ip));
        byte[][] seeds =
        [
            Udp(ClientAddr, Nat64Of(Destination)), Tcp(ClientAddr, Nat64Of(Destination)), Echo(ip.Destination, ip.Source, request: false),
            Error(RelayAddr, ip.Source, Icmpv6Type.PacketTooBig, 0, 1280, t), Udp(ip.Destination, ip.Source),
            Error(ClientAddr, Nat64Of(Destination), Icmpv6Type.DestinationUnreachable, 4, 0, Udp(Nat64Of(Destination), ClientAddr)),
        ];
        var random = new Random(13);
        var buffer = new byte[2048];
        for (int i = 0; i < 100_000; i++)
        {
            int length = DatagramMutator.Next(random, seeds, buffer, i);
            engine.OnDevicePacket(i, Ipv6PeerEngine.TunDevice, buffer.AsSpan(0, length), sink);
            if (i % 1000 == 0) engine.OnTimer(i, sink);
            sink.Packets.Clear();
        }
        Assert.Equal(100_001, engine.Counters[Ipv6PeerCounter.Received]);
        Assert.True(engine.Counters[Ipv6PeerCounter.DropMalformed] > 0);
    }

    [Fact]
    public void The_rewrite_both_ways_allocates_nothing()
    {
        var engine = new Ipv6PeerEngine(Options(coordinators: 3));
        var probe = new ListSink();
        var outbound = Tcp(ClientAddr, Nat64Of(Destination));
        engine.OnDevicePacket(0, Ipv6PeerEngine.TunDevice, outbound, probe);
        Assert.True(Ipv6Packet.TryParse(Assert.Single(probe.Take()).Bytes, out var ip));
        var inbound = Tcp(ip.Destination, ip.Source);
        var ptb = Error(RelayAddr, ip.Source, Icmpv6Type.PacketTooBig, 0, 1280, Udp(ip.Source, ip.Destination));
        var sink = new CountingOutput();
        long exchanges = 0;
        long allocated = Allocations.Measure(Exchange);
        Assert.Equal(3 * exchanges, sink.Committed);
        Assert.Equal(0, allocated);

        void Exchange(int count)
        {
            exchanges += count;
            for (int i = 0; i < count; i++)
            {
                engine.OnDevicePacket(i, Ipv6PeerEngine.TunDevice, outbound, sink);
                engine.OnDevicePacket(i, Ipv6PeerEngine.TunDevice, inbound, sink);
                engine.OnDevicePacket(i, Ipv6PeerEngine.TunDevice, ptb, sink);
                if (i % 100 == 0) engine.OnTimer(i, sink);
            }
        }
    }
}
