using System.Collections.Frozen;
using Teredo.Addressing;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Server;

public class TeredoServerEngineTests
{
    private static readonly Ipv4Address Primary = new(198, 18, 200, 1);
    private static readonly Ipv4Endpoint Client = new(new Ipv4Address(198, 18, 200, 10), 40016);
    private static readonly Ipv4Endpoint OtherClient = new(new Ipv4Address(198, 18, 2, 1), 50000);
    private readonly CapturedAnswer _capture = new();

    private static TeredoServerEngine Engine(ServerOptions? options = null) => new(options ?? new ServerOptions { Primary = Primary });

    private ServerAnswer Send(TeredoServerEngine engine, Ipv4Endpoint from, ReadOnlySpan<byte> payload,
        PortHandle via = default, long now = 0) =>
        engine.Answer(_capture, now, via, from, payload);

    private static byte[] RsPayload(Ipv6Address source, byte[]? auth = null)
    {
        var buffer = new byte[200];
        int offset = 0;
        if (auth is not null) { auth.CopyTo(buffer, 0); offset = auth.Length; }
        offset += RouterSolicitation.Emit(buffer.AsSpan(offset), source, Ipv6Address.AllRouters);
        return buffer[..offset];
    }

    private static byte[] Packet(Ipv6Address src, Ipv6Address dst, byte next, int payloadLength, byte hop = 64)
    {
        var p = new byte[40 + payloadLength];
        new Ipv6Header(src, dst, next, (ushort)payloadLength, hop).Emit(p);
        return p;
    }

    private static byte[] Echo(Ipv6Address src, Ipv6Address dst, int dataLength, byte hop = 64)
    {
        var p = new byte[48 + dataLength];
        Icmpv6Echo.Emit(p, src, dst, true, 1, 1, new byte[dataLength], hop);
        return p;
    }

    private static Ipv6Address TeredoOf(Ipv4Endpoint mapped, Ipv4Address? server = null) =>
        TeredoAddress.Create(server ?? Primary, TeredoFlags.None, mapped).Address;

    [Fact]
    public void Options_the_engine_cannot_run_with_are_refused_where_it_is_built()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Engine(new ServerOptions { Primary = Primary, Mtu = 1000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Engine(new ServerOptions { Primary = Primary, Secondary = Primary }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Engine(new ServerOptions { Primary = Primary, RateLimitSlots = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Engine(new ServerOptions { Primary = Primary, RequireAuthentication = true }));
    }

    [Fact]
    public void Answers_miredos_rs_with_the_same_bytes_miredo_server_sent()
    {
        var engine = Engine();
        var rs = CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation);
        var output = Send(engine, Client, rs);
        Assert.Equal(AnswerKind.Udp, output.Kind);
        Assert.Equal(TeredoServerEngine.PrimaryPort, output.From); // cone bit clear: same address
        Assert.Equal(Client, output.To);
        Assert.Equal(CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement), _capture.Buffer[..output.Length]);
        Assert.Equal(1, engine.Counters[ServerCounter.RouterAdvertisementSent]);
    }

    [Fact]
    public void Cone_rs_is_answered_from_the_other_address()
    {
        var engine = Engine();
        var coneLinkLocal = TeredoAddress.LinkLocal(TeredoFlags.Cone, new Ipv4Endpoint(new Ipv4Address(10, 0, 0, 2), 1234));
        var output = Send(engine, Client, RsPayload(coneLinkLocal), TeredoServerEngine.PrimaryPort);
        Assert.Equal(TeredoServerEngine.SecondaryPort, output.From);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(_capture.Buffer.AsSpan(0, output.Length), out var ra));
        Assert.Equal(Client, ra.Origin);
        Assert.Equal(Ipv6Address.Parse("fe80::8000:f227:39ed:37fd"), ra.Ipv6.Source); // secondary 198.18.200.2
        Assert.Equal(coneLinkLocal, ra.Ipv6.Destination);
        Assert.True(Icmpv6Packet.TryParse(ra.Ipv6, out var icmp));
        Assert.True(RouterAdvertisement.TryParse(icmp, out var adv));
        Assert.Equal(Ipv6Address.Parse("2001:0:c612:c801::"), adv.Prefix!.Value.Prefix); // always the primary's prefix

        var fromSecondary = Send(engine, Client, RsPayload(coneLinkLocal), TeredoServerEngine.SecondaryPort);
        Assert.Equal(TeredoServerEngine.PrimaryPort, fromSecondary.From);
        var nonCone = Send(engine, Client, RsPayload(Ipv6Address.Parse("fe80::ffff:ffff:ffff")), TeredoServerEngine.SecondaryPort);
        Assert.Equal(TeredoServerEngine.SecondaryPort, nonCone.From);
    }

    private static byte[] SignedRs(string id, byte[] key, ulong nonce)
    {
        var buffer = new byte[300];
        int n = TeredoAuthentication.Emit(buffer, System.Text.Encoding.Latin1.GetBytes(id), 20, nonce, 0);
        n += RouterSolicitation.Emit(buffer.AsSpan(n), Ipv6Address.Parse("fe80::ffff:ffff:ffff"), Ipv6Address.AllRouters);
        TeredoAuthenticator.Sign(buffer.AsSpan(0, n), key);
        return buffer[..n];
    }

    [Fact]
    public void Secure_qualification_signs_the_ra_and_refuses_bad_or_missing_authentication()
    {
        byte[] key = "s3cret"u8.ToArray();
        var engine = Engine(new ServerOptions
        {
            Primary = Primary,
            RequireAuthentication = true,
            ClientSecrets = new Dictionary<string, byte[]> { ["alice"] = key }.ToFrozenDictionary(),
        });
        var ok = Send(engine, Client, SignedRs("alice", key, 42));
        Assert.Equal(AnswerKind.Udp, ok.Kind);
        var ra = _capture.Buffer.AsSpan(0, ok.Length);
        Assert.True(TeredoAuthenticator.Verify(ra, key));
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(ra, out var d));
        Assert.Equal(42UL, d.Authentication.Nonce);
        Assert.Equal(0, d.Authentication.Confirmation);
        Assert.Equal("alice"u8.ToArray(), d.Authentication.ClientId.ToArray());

        Assert.Equal(AnswerKind.None, Send(engine, Client, SignedRs("alice", "wrong"u8.ToArray(), 1)).Kind);
        Assert.Equal(AnswerKind.None, Send(engine, Client, SignedRs("mallory", key, 1)).Kind);
        Assert.Equal(AnswerKind.None, Send(engine, Client, RsPayload(Ipv6Address.Parse("fe80::ffff:ffff:ffff"))).Kind);
        Assert.Equal(2, engine.Counters[ServerCounter.DropAuthenticationFailed]);
        Assert.Equal(1, engine.Counters[ServerCounter.DropAuthenticationMissing]);
    }

    [Fact]
    public void Bubble_between_clients_of_this_server_carries_an_origin_indication()
    {
        var engine = Engine();
        var bubble = Packet(TeredoOf(Client), TeredoOf(OtherClient), IpProtocol.NoNextHeader, 0);
        var output = Send(engine, Client, bubble);
        Assert.Equal(AnswerKind.Udp, output.Kind);
        Assert.Equal(OtherClient, output.To);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(_capture.Buffer.AsSpan(0, output.Length), out var d));
        Assert.True(d.HasOrigin);
        Assert.Equal(Client, d.Origin);
        Assert.True(d.Ipv6.IsBubble);
        Assert.Equal(64, d.Ipv6.HopLimit);
    }

    [Fact]
    public void Miredos_hop_limit_0_bubbles_are_forwarded()
    {
        var engine = Engine();
        var output = Send(engine, Client, Packet(TeredoOf(Client), TeredoOf(OtherClient), IpProtocol.NoNextHeader, 0, hop: 0));
        Assert.Equal(AnswerKind.Udp, output.Kind);
    }

    [Fact]
    public void Bubble_to_another_servers_client_has_no_origin_indication()
    {
        var engine = Engine();
        var elsewhere = TeredoOf(OtherClient, new Ipv4Address(198, 18, 9, 9));
        var output = Send(engine, Client, Packet(TeredoOf(Client), elsewhere, IpProtocol.NoNextHeader, 0));
        Assert.Equal(AnswerKind.Udp, output.Kind);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(_capture.Buffer.AsSpan(0, output.Length), out var d));
        Assert.False(d.HasOrigin);
    }

    [Fact]
    public void Relay_bubble_from_a_non_teredo_source_reaches_our_client()
    {
        // Rule 6: e.g. a relay's indirect bubble (link-local nonce source) for one of our clients.
        var engine = Engine();
        var relay = new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 20), 3544);
        var output = Send(engine, relay, Packet(Ipv6Address.Parse("fe80::1234:5678:9abc:def0"), TeredoOf(OtherClient), IpProtocol.NoNextHeader, 0));
        Assert.Equal(OtherClient, output.To);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(_capture.Buffer.AsSpan(0, output.Length), out var d));
        Assert.Equal(relay, d.Origin);
    }

    [Theory]
    [InlineData("data")]
    [InlineData("private-source")]
    [InlineData("mismatch")]
    [InlineData("mapped-private")]
    [InlineData("link-local-destination")]
    [InlineData("native-off")]
    [InlineData("hop-limit")]
    public void Drops_what_section_5_3_1_says_to_drop(string kind)
    {
        var engine = Engine(new ServerOptions { Primary = Primary, Ipv6Forwarding = kind == "hop-limit" });
        var (from, packet, counter) = kind switch
        {
            "data" => (Client, Packet(TeredoOf(Client), TeredoOf(OtherClient), IpProtocol.Udp, 8), ServerCounter.DropNotBubbleOrIcmpv6),
            "private-source" => (new Ipv4Endpoint(new Ipv4Address(10, 0, 0, 1), 1), Packet(TeredoOf(Client), TeredoOf(OtherClient), IpProtocol.NoNextHeader, 0), ServerCounter.DropSourceNotGlobal),
            "mismatch" => (OtherClient, Packet(TeredoOf(Client), TeredoOf(OtherClient), IpProtocol.NoNextHeader, 0), ServerCounter.DropSourceMismatch),
            "mapped-private" => (Client, Packet(TeredoOf(Client), TeredoOf(new Ipv4Endpoint(new Ipv4Address(192, 168, 1, 1), 5)), IpProtocol.NoNextHeader, 0), ServerCounter.DropDestinationMappedNotGlobal),
            "link-local-destination" => (Client, Packet(TeredoOf(Client), Ipv6Address.Parse("fe80::1"), IpProtocol.NoNextHeader, 0), ServerCounter.DropDestinationNotGlobal),
            "native-off" => (Client, Echo(TeredoOf(Client), Ipv6Address.Parse("2001:db8:1::100"), 8), ServerCounter.DropIpv6ForwardingDisabled),
            _ => (Client, Echo(TeredoOf(Client), Ipv6Address.Parse("2001:db8:1::100"), 8, hop: 1), ServerCounter.DropHopLimitExceeded),
        };
        Assert.Equal(AnswerKind.None, Send(engine, from, packet).Kind);
        Assert.Equal(1, engine.Counters[counter]);
        Assert.Equal(engine.Counters[ServerCounter.Received], engine.Counters.Outcomes);
    }

    [Fact]
    public void Icmpv6_to_native_ipv6_is_relayed_whatever_its_size()
    {
        // Miredo-server drops ICMPv6 over 88 bytes; §5.3.1 does not, and the rate limit bounds abuse.
        var engine = Engine(new ServerOptions { Primary = Primary, Ipv6Forwarding = true });
        var echo = Echo(TeredoOf(Client), Ipv6Address.Parse("2001:db8:1::100"), 1000);
        var output = Send(engine, Client, echo);
        Assert.Equal(AnswerKind.NativeIpv6, output.Kind);
        Assert.Equal(echo.Length, output.Length);
        Assert.Equal(63, _capture.Buffer[7]);
        Assert.Equal(echo[8..], _capture.Buffer[8..echo.Length]);
    }

    [Fact]
    public void Echo_to_the_servers_link_local_address_is_answered()
    {
        var engine = Engine();
        var linkLocal = TeredoAddress.LinkLocal(TeredoFlags.Cone, new Ipv4Endpoint(Primary, 3544));
        var output = Send(engine, Client, Echo(TeredoOf(Client), linkLocal, 4));
        Assert.Equal(AnswerKind.Udp, output.Kind);
        Assert.True(Ipv6Packet.TryParse(_capture.Buffer.AsSpan(0, output.Length), out var ip));
        Assert.True(Icmpv6Packet.TryParse(ip, out var icmp));
        Assert.True(Icmpv6Echo.TryParse(icmp, out var reply));
        Assert.False(reply.IsRequest);
        Assert.True(icmp.VerifyChecksum(ip.Source, ip.Destination));
    }

    [Fact]
    public void Router_advertisements_are_rate_limited_per_source_and_refill()
    {
        var engine = Engine(new ServerOptions { Primary = Primary, AdvertisementRatePerSource = 10, AdvertisementBurstPerSource = 5 });
        var rs = CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation);
        int answered = 0;
        for (int i = 0; i < 20; i++)
            if (Send(engine, Client, rs, now: 1000).Kind != AnswerKind.None) answered++;
        Assert.Equal(5, answered);
        Assert.Equal(15, engine.Counters[ServerCounter.DropRateLimited]);
        // Another source is not affected; after 100 ms one more token has come back.
        Assert.NotEqual(AnswerKind.None, Send(engine, OtherClient, rs, now: 1000).Kind);
        Assert.NotEqual(AnswerKind.None, Send(engine, Client, rs, now: 1100).Kind);
        Assert.Equal(AnswerKind.None, Send(engine, Client, rs, now: 1100).Kind);
    }

    [Fact]
    public void Answers_and_forwarding_allocate_nothing()
    {
        var engine = Engine(new ServerOptions { Primary = Primary, AdvertisementRatePerSource = 0, ForwardRatePerSource = 0 });
        var output = new CountingOutput();
        var rs = CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation);
        var bubble = Packet(TeredoOf(Client), TeredoOf(OtherClient), IpProtocol.NoNextHeader, 0);

        long allocated = Allocations.Measure(count =>
        {
            for (int i = 0; i < count; i++)
            {
                engine.OnDatagram(i, i % 2 == 0 ? TeredoServerEngine.PrimaryPort : TeredoServerEngine.SecondaryPort, Client, rs, output);
                engine.OnDatagram(i, TeredoServerEngine.PrimaryPort, Client, bubble, output);
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(2 * 60_000, output.Committed);
        Assert.Equal(60_000, engine.Counters[ServerCounter.RouterAdvertisementSent]);
        Assert.Equal(60_000, engine.Counters[ServerCounter.ForwardedToClient]);
    }
}
