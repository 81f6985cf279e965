using System.Buffers.Binary;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Tests.Support;
using Teredo.Wire;
using static Teredo.Tests.Support.Nat64Packets;

namespace Teredo.Tests.Nat64;

public class Nat64TranslatorTests
{
    private static readonly Ipv4Address Us4 = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv6Address Us6 = Ipv6Address.Parse("2001:db8:1::1");

    /// <summary>The WKP translator with Host6 ↔ Host4 as an explicit /128 ↔ /32 mapping.</summary>
    internal static Nat64Translator Make(Action<Nat64Options>? configure = null)
    {
        var options = new Nat64Options { Prefix = Prefix, TranslatorIpv4 = Us4, TranslatorIpv6 = Us6, IcmpErrorsPerSecond = 0 };
        configure?.Invoke(options);
        var map = new Nat64AddressMap(options);
        map.AddExplicit(Host4, 32, Host6, 128);
        return new Nat64Translator(options, map);
    }

    private static byte[] Data(int n) => [.. Enumerable.Range(0, n).Select(i => (byte)(i * 7))];

    private static byte[] Single(TranslationSink sink)
    {
        var packets = sink.Take();
        Assert.Single(packets);
        return packets[0];
    }

    private static void AssertAddsUp(Nat64Translator t) =>
        Assert.Equal(t.Counters[Nat64Counter.Ipv4Received] + t.Counters[Nat64Counter.Ipv6Received], t.Counters.OutcomeTotal);

    [Fact]
    public void Udp_6to4_maps_addresses_decrements_hop_limit_and_keeps_a_valid_checksum()
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, Udp(5000, 53, Data(100)), hopLimit: 30, trafficClass: 0xB8), sink);
        byte[] v4 = Single(sink);
        Assert.True(Ipv4Packet.TryParse(v4, out var ip));
        Assert.True(ip.VerifyHeaderChecksum());
        Assert.Equal(Host4, ip.Source);
        Assert.Equal(Server4, ip.Destination);
        Assert.Equal(29, ip.Ttl);
        Assert.Equal(0xB8, ip.TypeOfService);
        Assert.Equal(IpProtocol.Udp, ip.Protocol);
        Assert.False(ip.DontFragment);           // 128 bytes ≤ 1260 (RFC 7915 §5.1)
        Assert.True(TransportChecksumOk4(v4));
        Assert.Equal(1, t.Counters[Nat64Counter.Translated6To4Udp]);
        AssertAddsUp(t);
    }

    [Fact]
    public void Tcp_4to6_keeps_a_valid_checksum_and_no_fragment_header()
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Tcp, Tcp(80, 40000, Data(500)), ttl: 9, tos: 0x10), sink);
        byte[] v6 = Single(sink);
        Assert.True(Ipv6Packet.TryParse(v6, out var ip));
        Assert.Equal(Server6, ip.Source);
        Assert.Equal(Host6, ip.Destination);
        Assert.Equal(8, ip.HopLimit);
        Assert.Equal(0x10, ip.TrafficClass);
        Assert.Equal(IpProtocol.Tcp, ip.NextHeader);
        Assert.True(TransportChecksumOk6(v6));
    }

    [Fact]
    public void A_bad_transport_checksum_stays_bad_by_the_same_amount()
    {
        var t = Make();
        var sink = new TranslationSink();
        byte[] v6 = Ipv6(Host6, Server6, IpProtocol.Tcp, Tcp(1, 2, Data(33)));
        v6[40 + 16] ^= 0x5A; // corrupt the TCP checksum
        var src = Ipv6Address.Read(v6.AsSpan(8));
        var dst = Ipv6Address.Read(v6.AsSpan(24));
        ushort residual6 = Checksum.Fold(Checksum.Add(Checksum.Ipv6PseudoHeader(src, dst, (uint)(v6.Length - 40), IpProtocol.Tcp), v6.AsSpan(40)));
        t.FromIpv6(0, v6, sink);
        byte[] v4 = Single(sink);
        ushort residual4 = Checksum.Fold(Checksum.Add(Checksum.Ipv4PseudoHeader(Host4, Server4, IpProtocol.Tcp, (ushort)(v4.Length - 20)), v4.AsSpan(20)));
        Assert.NotEqual(0xFFFF, residual6);
        Assert.Equal(residual6, residual4);
    }

    [Fact]
    public void Echo_requests_translate_both_ways_with_valid_checksums()
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.EchoRequest, 0, 0x00420001, Data(56))), sink);
        byte[] v4 = Single(sink);
        Assert.Equal(IpProtocol.Icmp, v4[9]);
        Assert.Equal(Icmpv4Type.EchoRequest, v4[20]);
        Assert.True(TransportChecksumOk4(v4));

        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.EchoReply, 0, 0x00420001, Data(56))), sink);
        byte[] v6 = Single(sink);
        Assert.Equal(IpProtocol.Icmpv6, v6[6]);
        Assert.Equal(Icmpv6Type.EchoReply, v6[40]);
        Assert.True(TransportChecksumOk6(v6));
        Assert.Equal(1, t.Counters[Nat64Counter.Translated6To4IcmpEcho]);
        Assert.Equal(1, t.Counters[Nat64Counter.Translated4To6IcmpEcho]);
    }

    [Fact]
    public void Expiring_hop_limit_gets_time_exceeded_from_the_translator()
    {
        var t = Make();
        var sink = new TranslationSink();
        byte[] offending = Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(10)), hopLimit: 1);
        t.FromIpv6(0, offending, sink);
        byte[] error = Single(sink);
        Assert.Equal(Us6, Ipv6Address.Read(error.AsSpan(8)));
        Assert.Equal(Host6, Ipv6Address.Read(error.AsSpan(24)));
        Assert.Equal(Icmpv6Type.TimeExceeded, error[40]);
        Assert.Equal(0, error[41]);
        Assert.Equal(offending, error[48..]);
        Assert.True(TransportChecksumOk6(error));
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6HopLimitExceeded]);
        Assert.Equal(1, t.Counters[Nat64Counter.Icmpv6ErrorsSent]);
    }

    /// <summary>RFC 4443 §2.4 (e.3) and RFC 1812 §4.3.2.7: packets sent to a group never earn an error, whatever else is wrong.</summary>
    [Theory]
    [InlineData("ff02::16", 1)]
    [InlineData("ff0e::101", 64)]
    public void A_packet_to_an_ipv6_multicast_group_gets_no_error(string group, int hopLimit)
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse(group), IpProtocol.Udp, Udp(1, 2, Data(10)), hopLimit: (byte)hopLimit), sink);
        Assert.Empty(sink.Packets);
        Assert.Equal(0, t.Counters[Nat64Counter.Icmpv6ErrorsSent]);
    }

    [Theory]
    [InlineData("224.0.0.22", 1)]
    [InlineData("255.255.255.255", 1)]
    [InlineData("239.1.2.3", 1)]
    public void A_packet_to_an_ipv4_multicast_or_broadcast_address_gets_no_error(string group, int ttl)
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv4(0, Ipv4(Server4, Ipv4Address.Parse(group), IpProtocol.Udp, Udp(1, 2, Data(10)), ttl: (byte)ttl), sink);
        Assert.Empty(sink.Packets);
        Assert.Equal(0, t.Counters[Nat64Counter.Icmpv4ErrorsSent]);
    }

    [Fact]
    public void Expiring_ttl_gets_time_exceeded_from_the_translator()
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(10)), ttl: 1), sink);
        byte[] error = Single(sink);
        Assert.Equal(Us4, Ipv4Address.Read(error.AsSpan(12)));
        Assert.Equal(Server4, Ipv4Address.Read(error.AsSpan(16)));
        Assert.Equal((Icmpv4Type.TimeExceeded, (byte)0), (error[20], error[21]));
        Assert.True(TransportChecksumOk4(error));
        Assert.Equal(1, t.Counters[Nat64Counter.Drop4TtlExceeded]);
    }

    [Fact]
    public void Options_are_dropped_but_an_unexpired_source_route_is_refused()
    {
        var t = Make();
        var sink = new TranslationSink();
        // LSRR, length 7, pointer 4 (one hop left), padded with end-of-options.
        byte[] lsrr = [131, 7, 4, 10, 0, 0, 1, 0];
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(10)), options: lsrr), sink);
        byte[] error = Single(sink);
        Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)5), (error[20], error[21]));

        // Pointer 8 > length 7: the route is used up; the packet goes through without its options.
        byte[] expired = [131, 7, 8, 10, 0, 0, 1, 0];
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(10)), options: expired), sink);
        byte[] v6 = Single(sink);
        Assert.Equal(40 + 18, v6.Length);
        Assert.True(TransportChecksumOk6(v6));
        Assert.Equal(1, t.Counters[Nat64Counter.Drop4SourceRoute]);
    }

    [Fact]
    public void Extension_headers_are_walked_and_an_active_routing_header_is_a_parameter_problem()
    {
        var t = Make();
        var sink = new TranslationSink();
        // Hop-by-hop (PadN) then destination options (PadN), then UDP: translated without them.
        byte[] ext = [60, 0, 1, 4, 0, 0, 0, 0, IpProtocol.Udp, 0, 1, 4, 0, 0, 0, 0];
        byte[] udp = Udp(7, 8, Data(20));
        byte[] withChecksum = Ipv6(Host6, Server6, IpProtocol.Udp, udp)[40..];
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, withChecksum, extensions: ext, firstHeader: 0, fillChecksum: false), sink);
        byte[] v4 = Single(sink);
        Assert.Equal(20 + udp.Length, v4.Length);
        Assert.True(TransportChecksumOk4(v4));

        // Routing header type 0 with segments left 1.
        byte[] routing = [IpProtocol.Udp, 2, 0, 1, 0, 0, 0, 0, .. new byte[16]];
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, withChecksum, extensions: routing, firstHeader: 43, fillChecksum: false), sink);
        byte[] error = Single(sink);
        Assert.Equal((Icmpv6Type.ParameterProblem, (byte)0), (error[40], error[41]));
        Assert.Equal(43u, BinaryPrimitives.ReadUInt32BigEndian(error.AsSpan(44))); // 40 + 3: segments left
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6RoutingHeader]);
    }

    [Theory]
    [InlineData(1260 - 28, false)]
    [InlineData(1261 - 28, true)]
    public void Dont_fragment_is_set_on_6to4_only_above_1260_bytes(int dataLength, bool dontFragment)
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(dataLength))), sink);
        Assert.True(Ipv4Packet.TryParse(Single(sink), out var ip));
        Assert.Equal(dontFragment, ip.DontFragment);
        if (dontFragment) Assert.Equal(0, ip.Identification);
    }

    [Fact]
    public void Ipv6_fragments_carry_the_low_16_bits_of_their_identification()
    {
        var t = Make();
        var sink = new TranslationSink();
        byte[] fragment = [IpProtocol.Udp, 0, 0x00, 0x01, 0xAB, 0xCD, 0x12, 0x34]; // offset 0, M, id 0xABCD1234
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(40)), extensions: fragment, firstHeader: 44), sink);
        Assert.True(Ipv4Packet.TryParse(Single(sink), out var ip));
        Assert.Equal(0x1234, ip.Identification);
        Assert.True(ip.MoreFragments);
        Assert.False(ip.DontFragment);
    }

    [Theory]
    [InlineData(1280)]
    [InlineData(1400)]
    public void Ipv4_without_df_too_big_for_the_ipv6_side_is_split_at_the_offlink_mtu(int offlinkMtu)
    {
        var t = Make(o => o.OfflinkMtu = offlinkMtu);
        var sink = new TranslationSink();
        byte[] udp = Udp(1000, 2000, Data(1472));
        byte[] v4 = Ipv4(Server4, Host4, IpProtocol.Udp, udp, dontFragment: false, identification: 0xBEEF);
        t.FromIpv4(0, v4, sink);
        var fragments = sink.Take();
        Assert.Equal(2, fragments.Count);
        var reassembled = new List<byte>();
        foreach (var f in fragments)
        {
            Assert.True(f.Length <= offlinkMtu);
            Assert.Equal(Ipv6FragmentHeader.Protocol, f[6]);
            var header = new Ipv6FragmentHeader(f.AsSpan(40));
            Assert.Equal(0xBEEFu, header.Identification);
            Assert.Equal(reassembled.Count, header.FragmentOffset);
            Assert.Equal(f == fragments[0], header.MoreFragments);
            reassembled.AddRange(f[48..]);
        }
        Assert.Equal(udp.Length, reassembled.Count);
        // The whole datagram's checksum verifies with the IPv6 pseudo-header.
        var whole = Ipv6(Server6, Host6, IpProtocol.Udp, [.. reassembled], fillChecksum: false);
        Assert.True(TransportChecksumOk6(whole));
        Assert.Equal(2, t.Counters[Nat64Counter.Ipv6FragmentsSent]);
    }

    [Fact]
    public void Ipv4_with_df_too_big_for_the_ipv6_next_hop_gets_fragmentation_needed()
    {
        var t = Make(o => o.Ipv6Mtu = 1280);
        var sink = new TranslationSink();
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(1300))), sink);
        byte[] error = Single(sink);
        Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)4), (error[20], error[21]));
        Assert.Equal(1260, BinaryPrimitives.ReadUInt16BigEndian(error.AsSpan(26)));
        Assert.Equal(576, error.Length);
        Assert.Equal(1, t.Counters[Nat64Counter.Drop4TooBig]);
    }

    [Fact]
    public void Ipv6_too_big_for_the_ipv4_side_gets_packet_too_big_never_below_1280()
    {
        var t = Make(o => o.Ipv4Mtu = 1000);
        var sink = new TranslationSink();
        byte[] offending = Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(1100)));
        t.FromIpv6(0, offending, sink);
        byte[] error = Single(sink);
        Assert.Equal(Icmpv6Type.PacketTooBig, error[40]);
        Assert.Equal(1280u, BinaryPrimitives.ReadUInt32BigEndian(error.AsSpan(44)));
        Assert.Equal(offending, error[48..]);
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6TooBig]);
    }

    /// <summary>An ICMPv6 Packet Too Big about a packet we translated 4→6 earlier (Host6 → Server6 was Server4 → Host4).</summary>
    [Theory]
    [InlineData(1400u, 1380)]
    [InlineData(9000u, 1480)] // capped by the IPv6 next hop (the same 1500-byte TUN) − 20
    public void Packet_too_big_becomes_fragmentation_needed_with_the_mtu_minus_20(uint mtu6, int mtu4)
    {
        var t = Make();
        var sink = new TranslationSink();
        byte[] inner = Ipv6(Server6, Host6, IpProtocol.Udp, Udp(53, 5000, Data(1400)))[..200];
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.PacketTooBig, 0, mtu6, inner)), sink);
        byte[] v4 = Single(sink);
        Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)4), (v4[20], v4[21]));
        Assert.Equal(mtu4, BinaryPrimitives.ReadUInt16BigEndian(v4.AsSpan(26)));
        Assert.True(TransportChecksumOk4(v4));
        // The inner packet: IPv4 with its hop limit kept as TTL, addresses mapped back.
        Assert.Equal(0x45, v4[28]);
        Assert.Equal(64, v4[28 + 8]);
        Assert.Equal(Server4, Ipv4Address.Read(v4.AsSpan(28 + 12)));
        Assert.Equal(Host4, Ipv4Address.Read(v4.AsSpan(28 + 16)));
        Assert.Equal(1, t.Counters[Nat64Counter.Translated6To4IcmpError]);
    }

    [Theory]
    [InlineData(1400, 1420)]
    [InlineData(1000, 1280)]   // never below the IPv6 minimum MTU
    [InlineData(0, 1512)]      // RFC 1191 router: plateau 1492 below the returned 1500-byte datagram, + 20
    public void Fragmentation_needed_becomes_packet_too_big_with_the_mtu_plus_20(int mtu4, uint mtu6)
    {
        var t = Make(o => { o.Ipv4Mtu = 9000; o.Ipv6Mtu = 9000; });
        var sink = new TranslationSink();
        byte[] inner = Ipv4(Host4, Server4, IpProtocol.Udp, Udp(5000, 53, Data(1472)));
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.DestinationUnreachable, 4, (uint)mtu4, inner[..548])), sink);
        byte[] v6 = Single(sink);
        Assert.Equal(Icmpv6Type.PacketTooBig, v6[40]);
        Assert.Equal(mtu6, BinaryPrimitives.ReadUInt32BigEndian(v6.AsSpan(44)));
        Assert.True(TransportChecksumOk6(v6));
        Assert.Equal(64, v6[48 + 7]); // inner TTL kept
    }

    [Theory]
    [InlineData(UdpChecksumMode.Drop, false)]
    [InlineData(UdpChecksumMode.Forward, true)]
    [InlineData(UdpChecksumMode.Calculate, true)]
    public void Udp_zero_checksum_follows_the_mode(UdpChecksumMode mode, bool translated)
    {
        var t = Make(o => o.UdpChecksumMode = mode);
        var sink = new TranslationSink();
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(30)), fillChecksum: false), sink);
        byte[] packet = Single(sink);
        if (!translated)
        {
            Assert.Equal((Icmpv4Type.DestinationUnreachable, (byte)13), (packet[20], packet[21]));
            Assert.Equal(1, t.Counters[Nat64Counter.Drop4UdpZeroChecksum]);
            return;
        }
        Assert.Equal(6, packet[0] >> 4);
        if (mode == UdpChecksumMode.Forward) Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(46)));
        else Assert.True(TransportChecksumOk6(packet));
    }

    [Fact]
    public void Calculate_mode_still_drops_a_first_fragment_without_checksum()
    {
        var t = Make(o => o.UdpChecksumMode = UdpChecksumMode.Calculate);
        var sink = new TranslationSink();
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(32)), fillChecksum: false, dontFragment: false, moreFragments: true), sink);
        Assert.Equal(1, t.Counters[Nat64Counter.Drop4UdpZeroChecksum]);
    }

    [Fact]
    public void Non_global_destinations_are_refused_with_administratively_prohibited_unless_allowed()
    {
        var t = Make(o =>
        {
            o.Prefix = Ipv6Address.Parse("2001:db8:64::");
            o.RefuseNonGlobalIpv4Destinations = true;
            o.AllowedDestinations.Add((Ipv4Address.Parse("198.18.0.0"), 15));
        });
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse("2001:db8:64::10.1.2.3"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        byte[] error = Single(sink);
        Assert.Equal((Icmpv6Type.DestinationUnreachable, (byte)1), (error[40], error[41]));
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6DestinationProhibited]);

        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse("2001:db8:64::198.19.1.2"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        Assert.Equal(4, Single(sink)[0] >> 4);
        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse("2001:db8:64::8.8.8.8"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        Assert.Equal(4, Single(sink)[0] >> 4);
    }

    [Fact]
    public void Fragmented_icmp_is_not_translated()
    {
        var t = Make();
        var sink = new TranslationSink();
        byte[] fragment = [IpProtocol.Icmpv6, 0, 0x00, 0x01, 0, 0, 0, 9];
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.EchoRequest, 0, 1, Data(16)), extensions: fragment, firstHeader: 44), sink);
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.EchoRequest, 0, 1, Data(16)), dontFragment: false, moreFragments: true), sink);
        Assert.Empty(sink.Take());
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6FragmentedIcmp]);
        Assert.Equal(1, t.Counters[Nat64Counter.Drop4FragmentedIcmp]);
    }

    [Fact]
    public void Icmpv6_errors_translated_from_icmpv4_stay_within_1280_bytes()
    {
        var t = Make(o => { o.Ipv4Mtu = 9000; });
        var sink = new TranslationSink();
        byte[] inner = Ipv4(Host4, Server4, IpProtocol.Udp, Udp(5000, 53, Data(1400)));
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.DestinationUnreachable, 3, 0, inner)), sink);
        byte[] v6 = Single(sink);
        Assert.Equal(1280, v6.Length);
        Assert.Equal((Icmpv6Type.DestinationUnreachable, (byte)4), (v6[40], v6[41]));
        Assert.True(TransportChecksumOk6(v6));
    }

    [Fact]
    public void Errors_we_originate_are_rate_limited()
    {
        var t = Make(o => o.IcmpErrorsPerSecond = 2);
        var sink = new TranslationSink();
        byte[] expiring = Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(10)), hopLimit: 1);
        for (int i = 0; i < 5; i++) t.FromIpv6(1000, expiring, sink);
        Assert.Equal(2, sink.Take().Count);
        Assert.Equal(3, t.Counters[Nat64Counter.IcmpErrorsRateLimited]);
        t.FromIpv6(1500, expiring, sink); // half a second: one token back
        Assert.Single(sink.Take());
        Assert.Equal(6, t.Counters[Nat64Counter.Drop6HopLimitExceeded]);
    }

    [Fact]
    public void Unmapped_addresses_are_dropped_counted_and_answered()
    {
        var t = Make();
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Ipv6Address.Parse("2001:db8:9::9"), Server6, IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse("2001:db8:9::9"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        // RFC 7915 §5.4: each answered with Destination Unreachable, administratively prohibited.
        var errors = sink.Take();
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Equal((Icmpv6Type.DestinationUnreachable, (byte)1), (e[40], e[41])));
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6SourceUnmapped]);
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6DestinationUnmapped]);
        AssertAddsUp(t);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_well_known_prefix_never_carries_a_non_global_ipv4_address_when_strict(bool strict)
    {
        var t = Make(o => { o.Prefix = Teredo.Addressing.Ipv4EmbeddedIpv6.WellKnownPrefix; o.WellKnownPrefixStrict = strict; });
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse("64:ff9b::10.1.2.3"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        t.FromIpv4(0, Ipv4(Ipv4Address.Parse("10.1.2.3"), Host4, IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        t.FromIpv6(0, Ipv6(Host6, Ipv6Address.Parse("64:ff9b::8.8.8.8"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        t.FromIpv4(0, Ipv4(Ipv4Address.Parse("8.8.8.8"), Ipv4Address.Parse("10.1.2.4"), IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        var output = sink.Take();
        Assert.Equal(4, output.Count);
        // Strict: three refusals (ICMPv6 1/1, ICMPv4 3/13 twice) and one translation.
        Assert.Equal(strict ? 3 : 0, output.Count(p => p[0] >> 4 == 6 ? p[40] == Icmpv6Type.DestinationUnreachable : p[9] == IpProtocol.Icmp));
        Assert.Equal(strict ? 1 : 0, t.Counters[Nat64Counter.Drop4DestinationUnmapped]);
        Assert.Equal(strict ? 1 : 0, t.Counters[Nat64Counter.Drop6DestinationUnmapped]);
        Assert.Equal(strict ? 1 : 0, t.Counters[Nat64Counter.Drop4SourceUnmapped]);
    }

    [Fact]
    public void A_new_ipv6_host_gets_a_dynamic_pool_address_and_replies_reach_it()
    {
        var options = new Nat64Options { Prefix = Prefix, TranslatorIpv4 = Ipv4Address.Parse("198.18.0.1"), TranslatorIpv6 = Us6 };
        var map = new Nat64AddressMap(options);
        map.SetDynamicPool(Ipv4Address.Parse("198.18.0.0"), 24);
        var t = new Nat64Translator(options, map);
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        var leased = Ipv4Address.Read(Single(sink).AsSpan(12));
        Assert.Equal(Ipv4Address.Parse("198.18.0.2"), leased); // .0 network, .1 the translator
        t.FromIpv4(10, Ipv4(Server4, leased, IpProtocol.Udp, Udp(2, 1, Data(8))), sink);
        Assert.Equal(Host6, Ipv6Address.Read(Single(sink).AsSpan(24)));
    }

    [Fact]
    public void A_full_dynamic_pool_drops_new_hosts_as_exhausted()
    {
        var options = new Nat64Options { Prefix = Prefix, TranslatorIpv4 = Ipv4Address.Parse("198.18.0.1"), TranslatorIpv6 = Us6 };
        var map = new Nat64AddressMap(options);
        map.SetDynamicPool(Ipv4Address.Parse("198.18.0.0"), 24, capacity: 1);
        var t = new Nat64Translator(options, map);
        var sink = new TranslationSink();
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        t.FromIpv6(0, Ipv6(Ipv6Address.Parse("2001:db8:1::11"), Server6, IpProtocol.Udp, Udp(1, 2, Data(8))), sink);
        Assert.Equal(2, sink.Take().Count); // the translation and the refusal
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6PoolExhausted]);
    }

    [Fact]
    public void An_icmp_error_about_an_icmp_error_is_not_translated()
    {
        var t = Make();
        var sink = new TranslationSink();
        byte[] innerError = Ipv6(Server6, Host6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.TimeExceeded, 0, 0, new byte[48]));
        t.FromIpv6(0, Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.DestinationUnreachable, 0, 0, innerError)), sink);
        byte[] innerError4 = Ipv4(Host4, Server4, IpProtocol.Icmp, Icmp(Icmpv4Type.TimeExceeded, 0, 0, new byte[28]));
        t.FromIpv4(0, Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.DestinationUnreachable, 1, 0, innerError4)), sink);
        Assert.Empty(sink.Take());
        Assert.Equal(1, t.Counters[Nat64Counter.Drop6IcmpErrorInnerUntranslatable]);
        Assert.Equal(1, t.Counters[Nat64Counter.Drop4IcmpErrorInnerUntranslatable]);
    }

    [Fact]
    public void Translating_allocates_nothing_per_packet()
    {
        var t = Make(o => o.OfflinkMtu = 1280);
        var sink = new DiscardingTranslationSink();
        byte[][] from6 =
        [
            Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(100))),
            Ipv6(Host6, Server6, IpProtocol.Tcp, Tcp(1, 2, Data(1000))),
            Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.EchoRequest, 0, 1, Data(56))),
            Ipv6(Host6, Server6, IpProtocol.Icmpv6, Icmp(Icmpv6Type.PacketTooBig, 0, 1400, Ipv6(Server6, Host6, IpProtocol.Udp, Udp(53, 1, Data(100))))),
            Ipv6(Host6, Server6, IpProtocol.Udp, Udp(1, 2, Data(8)), hopLimit: 1),
        ];
        byte[][] from4 =
        [
            Ipv4(Server4, Host4, IpProtocol.Udp, Udp(1, 2, Data(100))),
            Ipv4(Server4, Host4, IpProtocol.Tcp, Tcp(1, 2, Data(1400)), dontFragment: false),
            Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.EchoReply, 0, 1, Data(56))),
            Ipv4(Server4, Host4, IpProtocol.Icmp, Icmp(Icmpv4Type.DestinationUnreachable, 3, 0, Ipv4(Host4, Server4, IpProtocol.Udp, Udp(1, 53, Data(100))))),
        ];
        Run(20_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(5_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(0, t.Counters[Nat64Counter.Drop6Malformed] + t.Counters[Nat64Counter.Drop4Malformed]);

        void Run(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                foreach (var p in from6) t.FromIpv6(i, p, sink);
                foreach (var p in from4) t.FromIpv4(i, p, sink);
            }
        }
    }

    [Fact]
    public void Refusing_and_allowing_destinations_and_leasing_allocate_nothing_per_packet()
    {
        var options = new Nat64Options
        {
            Prefix = Teredo.Addressing.Ipv4EmbeddedIpv6.WellKnownPrefix,
            TranslatorIpv4 = Ipv4Address.Parse("198.18.0.1"),
            TranslatorIpv6 = Us6,
            RefuseNonGlobalIpv4Destinations = true,
            AllowedDestinations = [(Ipv4Address.Parse("198.18.0.0"), 15)],
        };
        options.WellKnownPrefixStrict = false;
        var map = new Nat64AddressMap(options);
        map.SetDynamicPool(Ipv4Address.Parse("198.18.0.0"), 16);
        var t = new Nat64Translator(options, map);
        var sink = new DiscardingTranslationSink();
        byte[][] from6 =
        [
            Ipv6(Host6, Ipv6Address.Parse("64:ff9b::10.1.2.3"), IpProtocol.Udp, Udp(1, 2, Data(100))),  // refused
            Ipv6(Host6, Ipv6Address.Parse("64:ff9b::198.19.0.9"), IpProtocol.Udp, Udp(1, 2, Data(100))), // allowed
            Ipv6(Host6, Ipv6Address.Parse("64:ff9b::8.8.8.8"), IpProtocol.Udp, Udp(1, 2, Data(100))),    // global
        ];
        Run(20_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(5_000);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(25_000, t.Counters[Nat64Counter.Drop6DestinationProhibited]);

        void Run(int rounds)
        {
            for (int i = 0; i < rounds; i++)
                foreach (var p in from6) t.FromIpv6(i, p, sink);
        }
    }
}
