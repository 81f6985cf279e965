using System.Collections.Frozen;
using Teredo.Addressing;
using Teredo.Client;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Client;

public class ClientQualificationTests
{
    private static readonly Ipv4Address CapturedServer = new(198, 18, 200, 1);
    private static readonly Ipv4Endpoint CapturedServerEndpoint = new(CapturedServer, 3544);

    /// <summary>The RS and RA miredo and miredo-server exchanged (CapturedPackets), replayed against our engine.</summary>
    [Fact]
    public void Sends_the_same_solicitation_as_Miredo_and_qualifies_on_miredo_servers_captured_answer()
    {
        // Draw order: echo identifier; nonce and source bits of the cone, primary (Miredo's nonce and
        // fe80::ffff:ffff:ffff) and secondary probes; the address's random bits; the refresh jitter.
        var random = new ScriptedRandom(1, 7, 0x1111_2222_3333_4444, 0x0001_0002_0003_0004, 0xa8a8a7bc6f60d02f, 0x0000_FFFF_FFFF_FFFF,
            0x5555_6666_7777_8888, 0x0000_1234_5678_9abc, 0x123, 0);
        var client = new TeredoClientEngine(new ClientOptions { Server = CapturedServer }, random);
        var sink = new ListSink();
        client.Start(0, sink);
        var sent = sink.Take();
        Assert.Equal(3, sent.Count);
        // The cone probe leaves from the probe socket; the other two from the service port.
        Assert.Equal((OutputRoute.UdpProbe, CapturedServerEndpoint), (sent[0].Route, sent[0].To));
        Assert.Equal((OutputRoute.Udp, CapturedServerEndpoint), (sent[1].Route, sent[1].To));
        Assert.Equal((OutputRoute.Udp, new Ipv4Endpoint(new Ipv4Address(198, 18, 200, 2), 3544)), (sent[2].Route, sent[2].To));
        Assert.Equal(CapturedPackets.TeredoPayload(CapturedPackets.RouterSolicitation), sent[1].Bytes);
        // The cone probe: same shape, cone bit set in its own link-local source, its own nonce.
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(sent[0].Bytes, out var cone));
        Assert.Equal(0x1111_2222_3333_4444ul, cone.Authentication.Nonce);
        Assert.True(new TeredoFlags((ushort)(cone.Ipv6.Source.Lower >> 48)).IsCone);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(sent[2].Bytes, out var secondary));
        Assert.False(new TeredoFlags((ushort)(secondary.Ipv6.Source.Lower >> 48)).IsCone);
        Assert.Equal(ClientState.Starting, client.State);

        client.OnDatagram(30, ClientPort.Service, CapturedServerEndpoint, CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement), sink);

        Assert.Equal(1, client.Counters[ClientCounter.RouterAdvertisementAccepted]);
        Assert.Equal(ClientState.Qualified, client.State);
        Assert.Equal(new Ipv4Endpoint(new Ipv4Address(198, 18, 200, 10), 40016), client.Mapped);
        // Prefix 2001:0:c612:c801::/64, flags with cone bit clear and random bits 0x123, obfuscated mapping.
        Assert.Equal(Ipv6Address.Parse("2001:0:c612:c801:423:63af:39ed:37f5"), client.Address.Address);
        Assert.Equal(Ipv6Address.Parse("fe80::423:63af:39ed:37f5"), client.LinkLocalAddress);
        Assert.Equal(0x123, client.Address.Flags.RandomBits);
        Assert.Equal(1280u, client.AdvertisedMtu);
        var events = Drain(client);
        Assert.Contains(events, e => e.Kind == ClientEventKind.AddressAcquired && e.Address == client.Address);
        Assert.Contains(events, e => e.Kind == ClientEventKind.StateChanged && e.State == ClientState.Qualified);
        // Only the primary has answered: nothing is known about the NAT yet.
        Assert.Equal(NatType.Unknown, client.NatType);
        Assert.False(client.NatTypeFinal);
        // A second copy of the same answer is no longer expected.
        client.OnDatagram(40, ClientPort.Service, CapturedServerEndpoint, CapturedPackets.TeredoPayload(CapturedPackets.RouterAdvertisement), sink);
        Assert.Equal(1, client.Counters[ClientCounter.RouterAdvertisementUnexpected]);
    }

    [Fact]
    public void Behind_a_cone_NAT_the_answer_from_the_secondary_address_proves_it_at_once()
    {
        var h = new ClientHarness(NatBehaviour.FullCone);
        h.Start();
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(NatType.Cone, h.Client.NatType);
        Assert.Equal(0, h.Now);
        Assert.False(h.Client.Address.Flags.IsCone); // RFC 5991: the cone bit is not announced
        Assert.Equal(h.ToServer.Single(p => p.To.Address == ClientHarness.ServerPrimary && !IsConeProbe(p.Bytes)).From, h.Client.Mapped);
        Assert.Contains(h.Events, e => e.Kind == ClientEventKind.NatTypeDetermined && e.NatType == NatType.Cone);
        Assert.True(h.Client.ConeProbe.Answered);
        Assert.Equal(ClientHarness.ServerSecondary, h.Client.ConeProbe.AnsweredFrom.Address);
        h.Advance(20_000);
        // Nothing was repeated: every probe was answered at once.
        Assert.Equal(3, h.ToServer.Count);
    }

    [Fact]
    public void Behind_a_restricted_NAT_qualifies_at_once_and_finds_restricted_when_the_cone_probe_times_out()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted);
        h.Start();
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(NatType.Unknown, h.Client.NatType);
        Assert.True(h.Client.SecondaryProbe.Answered);
        Assert.Equal(h.Client.Mapped, h.Client.SecondaryProbe.Mapped);
        // The cone probe goes out N = 3 times, T = 4 s apart, from its own socket.
        h.Advance(11_900);
        Assert.Equal(3, h.ToServer.Count(p => IsConeProbe(p.Bytes)));
        Assert.All(h.ToServer.Where(p => IsConeProbe(p.Bytes)), p => Assert.NotEqual(h.Client.Mapped, p.From));
        Assert.Equal(NatType.Unknown, h.Client.NatType);
        h.Advance(100);
        Assert.Equal(NatType.Restricted, h.Client.NatType);
        Assert.Equal(12_000, h.Events.Single(e => e.Kind == ClientEventKind.NatTypeDetermined).TimeMs);
        Assert.Equal(ClientState.Qualified, h.Client.State);
    }

    [Fact]
    public void Behind_a_symmetric_NAT_says_so_at_once_and_keeps_the_primary_mapping()
    {
        var h = new ClientHarness(NatBehaviour.Symmetric);
        h.Start();
        Assert.Equal(NatType.Symmetric, h.Client.NatType);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(h.ToServer.Single(p => p.To.Address == ClientHarness.ServerPrimary && !IsConeProbe(p.Bytes)).From, h.Client.Mapped);
        Assert.NotEqual(h.Client.Mapped, h.Client.SecondaryProbe.Mapped);
        Assert.Contains(h.Events, e => e.Kind == ClientEventKind.NatTypeDetermined && e.NatType == NatType.Symmetric);
        // The verdict is final: the cone probe is not repeated.
        h.Advance(12_000);
        Assert.Equal(1, h.ToServer.Count(p => IsConeProbe(p.Bytes)));
    }

    [Fact]
    public void Strict_refusal_behind_a_symmetric_NAT_never_configures_an_address()
    {
        var h = new ClientHarness(NatBehaviour.Symmetric, o => o with { StrictSymmetric = true });
        h.Start();
        Assert.Equal(NatType.Symmetric, h.Client.NatType);
        Assert.Equal(ClientState.Offline, h.Client.State);
        Assert.False(h.Client.HasAddress);
        Assert.DoesNotContain(h.Events, e => e.Kind is ClientEventKind.AddressAcquired or ClientEventKind.AddressLost);
    }

    [Fact]
    public void Strict_mode_behind_a_restricted_NAT_qualifies_once_both_addresses_agree()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted, o => o with { StrictSymmetric = true });
        h.Start();
        Assert.Equal(ClientState.Qualified, h.Client.State);
        h.Advance(12_000);
        Assert.Equal(NatType.Restricted, h.Client.NatType);
    }

    [Fact]
    public void Strict_mode_refuses_when_the_secondary_address_never_answers_a_non_cone_client()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted, o => o with { StrictSymmetric = true, SecondaryServer = new Ipv4Address(198, 18, 0, 99) });
        h.Start();
        Assert.Equal(ClientState.Starting, h.Client.State);
        h.Advance(12_000);
        Assert.Equal(ClientState.Offline, h.Client.State);
        Assert.Equal(NatType.Unknown, h.Client.NatType);
        Assert.True(h.Client.NatTypeFinal);
    }

    [Fact]
    public void Without_a_server_goes_off_line_after_N_times_T_and_tries_again_later()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted, o => o with { OfflineRetryMs = 30_000 }) { ServerUp = false };
        h.Start();
        h.Advance(11_900);
        Assert.Equal(ClientState.Starting, h.Client.State);
        Assert.Equal(9, h.Client.Counters[ClientCounter.RouterSolicitationsSent]);
        h.Advance(100);
        Assert.Equal(ClientState.Offline, h.Client.State);
        Assert.Equal(9, h.ToServer.Count);
        h.Advance(29_900);
        Assert.Equal(9, h.ToServer.Count);
        h.ServerUp = true;
        h.Advance(100);
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(42_000, h.Client.QualifiedAtMs);
    }

    [Fact]
    public void A_server_answering_the_cone_probe_from_its_primary_too_proves_nothing_about_the_NAT()
    {
        // Some servers answer a cone solicitation from both addresses: the primary's copy must not make a
        // restricted NAT look like a cone one.
        var client = new TeredoClientEngine(new ClientOptions { Server = ClientHarness.ServerPrimary }, new ScriptedRandom(3));
        var sink = new ListSink();
        client.Start(0, sink);
        var probes = sink.Take();
        var mapped = new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000);
        var primary = new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544);
        client.OnDatagram(5, ClientPort.Service, primary, AnswerFrom(probes[1].Bytes, mapped, TeredoServerEngine.PrimaryPort, viaConeBitIgnored: false), sink);
        client.OnDatagram(5, ClientPort.Service, new Ipv4Endpoint(ClientHarness.ServerSecondary, 3544),
            AnswerFrom(probes[2].Bytes, mapped, TeredoServerEngine.SecondaryPort, viaConeBitIgnored: false), sink);
        client.OnDatagram(10, ClientPort.Probe, primary, AnswerFrom(probes[0].Bytes, mapped with { Port = 40001 }, TeredoServerEngine.PrimaryPort, viaConeBitIgnored: true), sink);
        Assert.Equal(ClientState.Qualified, client.State);
        Assert.Equal(NatType.Unknown, client.NatType);
        Assert.True(client.ConeProbe.Active);
        for (long t = 100; t <= 12_000; t += 100) client.OnTimer(t, sink);
        Assert.Equal(NatType.Restricted, client.NatType);
    }

    [Fact]
    public void Secure_qualification_signs_the_solicitation_and_checks_the_answer()
    {
        var secret = "s3cret"u8.ToArray();
        var server = new ServerOptions
        {
            Primary = ClientHarness.ServerPrimary,
            RequireAuthentication = true,
            ClientSecrets = new Dictionary<string, byte[]> { ["alice"] = secret }.ToFrozenDictionary(),
        };
        var h = new ClientHarness(NatBehaviour.PortRestricted, o => o with { ClientId = "alice"u8.ToArray(), Secret = secret }, server);
        h.Start();
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(h.ToServer[0].Bytes, out var rs));
        Assert.Equal("alice"u8.ToArray(), rs.Authentication.ClientId.ToArray());
        Assert.True(TeredoAuthenticator.Verify(h.ToServer[0].Bytes, secret));
    }

    [Fact]
    public void An_answer_signed_with_another_secret_is_refused()
    {
        var mine = "mine"u8.ToArray();
        var client = new TeredoClientEngine(new ClientOptions { Server = ClientHarness.ServerPrimary, ClientId = "alice"u8.ToArray(), Secret = mine }, new ScriptedRandom(9));
        var sink = new ListSink();
        client.Start(0, sink);
        var rs = sink.Take()[1].Bytes;
        var mapped = new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000);
        var ra = AnswerFrom(rs, mapped, TeredoServerEngine.PrimaryPort, viaConeBitIgnored: false, serverSecret: mine);
        Assert.True(TeredoAuthenticator.Verify(ra, mine));
        TeredoAuthenticator.Sign(ra, "other"u8);
        var server = new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544);
        client.OnDatagram(10, ClientPort.Service, server, ra, sink);
        Assert.Equal(1, client.Counters[ClientCounter.RouterAdvertisementBadAuthentication]);
        Assert.Equal(ClientState.Starting, client.State);
        TeredoAuthenticator.Sign(ra, mine);
        client.OnDatagram(20, ClientPort.Service, server, ra, sink);
        Assert.Equal(ClientState.Qualified, client.State);
    }

    [Fact]
    public void A_non_zero_confirmation_byte_asks_for_a_new_key()
    {
        // A server that does not know the identifier answers with confirmation 1 and no HMAC (§5.2.2).
        var server = new TeredoServerEngine(new ServerOptions
        {
            Primary = ClientHarness.ServerPrimary,
            ClientSecrets = new Dictionary<string, byte[]> { ["bob"] = "x"u8.ToArray() }.ToFrozenDictionary(),
        });
        var client = new TeredoClientEngine(new ClientOptions { Server = ClientHarness.ServerPrimary }, new ScriptedRandom(2));
        var sink = new ListSink();
        client.Start(0, sink);
        var rs = sink.Take()[1].Bytes;
        // The same RS (nonce, IPv6 packet) with identifier "carol" and no authentication value.
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(rs, out var parsed));
        var withId = new byte[rs.Length + 5];
        int n = TeredoAuthentication.Emit(withId, "carol"u8, 0, parsed.Authentication.Nonce, 0);
        parsed.Ipv6.Bytes.CopyTo(withId.AsSpan(n));
        var output = new CapturedAnswer();
        var result = server.Answer(output, 0, TeredoServerEngine.PrimaryPort, new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000), withId);
        Assert.Equal(AnswerKind.Udp, result.Kind);
        client.OnDatagram(5, ClientPort.Service, new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544), output.Buffer.AsSpan(0, result.Length), sink);
        Assert.Equal(ClientState.Qualified, client.State);
        Assert.Equal(1, client.Counters[ClientCounter.KeyRenewalRequests]);
        Assert.Contains(Drain(client), e => e.Kind == ClientEventKind.KeyRenewalRequested && e.Value == 1);
    }

    public static TheoryData<string, ClientCounter> Defects => new()
    {
        { "no origin indication", ClientCounter.RouterAdvertisementInvalid },
        { "hop limit 64", ClientCounter.RouterAdvertisementInvalid },
        { "bad checksum", ClientCounter.RouterAdvertisementInvalid },
        { "global source", ClientCounter.RouterAdvertisementInvalid },
        { "no prefix", ClientCounter.RouterAdvertisementInvalid },
        { "two prefixes", ClientCounter.RouterAdvertisementInvalid },
        { "prefix of another server", ClientCounter.RouterAdvertisementWrongPrefix },
        { "not the service prefix", ClientCounter.RouterAdvertisementWrongPrefix },
        { "prefix length 48", ClientCounter.RouterAdvertisementWrongPrefix },
        { "other nonce", ClientCounter.RouterAdvertisementBadNonce },
        { "no authentication", ClientCounter.RouterAdvertisementBadNonce },
        { "other destination", ClientCounter.RouterAdvertisementUnexpected },
    };

    [Theory]
    [MemberData(nameof(Defects))]
    public void An_invalid_advertisement_is_discarded_and_counted(string defect, ClientCounter expected)
    {
        var client = new TeredoClientEngine(new ClientOptions { Server = ClientHarness.ServerPrimary }, new ScriptedRandom(11));
        var sink = new ListSink();
        client.Start(0, sink);
        var rs = sink.Take()[1].Bytes;
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(rs, out var solicitation));
        var probeSource = solicitation.Ipv6.Source;
        ulong nonce = solicitation.Authentication.Nonce;
        var serverLinkLocal = TeredoAddress.LinkLocal(TeredoFlags.Cone, new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544));
        var prefix = Ipv6Address.Parse("2001:0:c612:a::");
        var info = new PrefixInformation(prefix, 64, false, true, uint.MaxValue, uint.MaxValue);
        var source = serverLinkLocal;
        var destination = probeSource;
        bool origin = true, auth = true, twoPrefixes = false, noPrefix = false;
        byte hopLimit = 255;
        switch (defect)
        {
            case "no origin indication": origin = false; break;
            case "hop limit 64": hopLimit = 64; break;
            case "global source": source = Ipv6Address.Parse("2001:db8::1"); break;
            case "no prefix": noPrefix = true; break;
            case "two prefixes": twoPrefixes = true; break;
            case "prefix of another server": info = info with { Prefix = Ipv6Address.Parse("2001:0:c612:b::") }; break;
            case "not the service prefix": info = info with { Prefix = Ipv6Address.Parse("2002:0:c612:a::") }; break;
            case "prefix length 48": info = info with { PrefixLength = 48 }; break;
            case "other nonce": nonce ^= 1; break;
            case "no authentication": auth = false; break;
            case "other destination": destination = Ipv6Address.Parse("fe80::1"); break;
        }
        var buffer = new byte[512];
        int n = 0;
        if (auth) n += TeredoAuthentication.Emit(buffer, default, 0, nonce, 0);
        if (origin) n += TeredoOriginIndication.Emit(buffer.AsSpan(n), new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000));
        var ra = new RouterAdvertisement(0, false, false, 0, 0, 2000, noPrefix ? null : info, 1280);
        int start = n;
        n += ra.Emit(buffer.AsSpan(n), source, destination);
        if (twoPrefixes)
        {
            // Append a second prefix option and fix the lengths and checksum.
            info.Emit(buffer.AsSpan(n));
            n += PrefixInformation.Length;
            var packet = buffer.AsSpan(start, n - start);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(packet.Slice(4), (ushort)(packet.Length - 40));
            Icmpv6Packet.FillChecksum(packet.Slice(40), source, destination);
        }
        Ipv6Packet.SetHopLimit(buffer.AsSpan(start), hopLimit);
        if (defect == "bad checksum") buffer[start + 42] ^= 0xFF;
        client.OnDatagram(10, ClientPort.Service, new Ipv4Endpoint(ClientHarness.ServerPrimary, 3544), buffer.AsSpan(0, n), sink);
        Assert.Equal(1, client.Counters[expected]);
        Assert.Equal(ClientState.Starting, client.State);
        Assert.Equal(1, client.Counters.UdpOutcomeSum);
    }

    [Fact]
    public void An_advertisement_from_anyone_but_the_server_is_not_taken_for_one()
    {
        var h = new ClientHarness(NatBehaviour.None);
        var client = new TeredoClientEngine(new ClientOptions { Server = ClientHarness.ServerPrimary }, new ScriptedRandom(12));
        var sink = new ListSink();
        client.Start(0, sink);
        var rs = sink.Take()[1].Bytes;
        var output = new CapturedAnswer();
        var result = h.Server.Answer(output, 0, TeredoServerEngine.PrimaryPort, new Ipv4Endpoint(new Ipv4Address(198, 18, 2, 1), 40000), rs);
        client.OnDatagram(5, ClientPort.Service, new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 99), 3544), output.Buffer.AsSpan(0, result.Length), sink);
        Assert.Equal(ClientState.Starting, client.State);
        Assert.Equal(1, client.Counters[ClientCounter.UdpDropNotQualified]);
    }

    [Fact]
    public void Every_probe_has_its_own_link_local_source_and_nonce()
    {
        var h = new ClientHarness(NatBehaviour.PortRestricted);
        h.Start();
        h.Advance(12_000);
        var probes = h.ToServer.Select(p =>
        {
            Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(p.Bytes, out var d));
            return (d.Ipv6.Source, d.Authentication.Nonce, p.To);
        }).Distinct().ToList();
        // cone probe (3 copies, one source, from the probe socket), primary probe (1), secondary probe (1)
        Assert.Equal(3, probes.Count);
        Assert.Equal(3, probes.Select(p => p.Source).Distinct().Count());
        Assert.Equal(3, probes.Select(p => p.Nonce).Distinct().Count());
        Assert.All(probes, p => Assert.True(p.Source.IsLinkLocal));
    }

    private static bool IsConeProbe(byte[] payload) =>
        TeredoDatagram.TryParse(payload, out var d) == TeredoParseError.None && new TeredoFlags((ushort)(d.Ipv6.Source.Lower >> 48)).IsCone;

    /// <summary>Our server's answer to <paramref name="rs"/>, forced to come from <paramref name="from"/>.</summary>
    private static byte[] AnswerFrom(byte[] rs, Ipv4Endpoint mapped, PortHandle from, bool viaConeBitIgnored, byte[]? serverSecret = null)
    {
        var server = new TeredoServerEngine(new ServerOptions
        {
            Primary = ClientHarness.ServerPrimary,
            ClientSecrets = serverSecret is null ? FrozenDictionary<string, byte[]>.Empty
                : new Dictionary<string, byte[]> { ["alice"] = serverSecret }.ToFrozenDictionary(),
        });
        var output = new CapturedAnswer();
        // The server answers a cone RS from the other address; asking on the secondary makes it answer from the primary.
        var via = viaConeBitIgnored ? (from == TeredoServerEngine.PrimaryPort ? TeredoServerEngine.SecondaryPort : TeredoServerEngine.PrimaryPort) : from;
        var result = server.Answer(output, 0, via, mapped, rs);
        Assert.Equal(AnswerKind.Udp, result.Kind);
        return output.Buffer[..result.Length];
    }

    private static List<ClientEvent> Drain(TeredoClientEngine client)
    {
        var list = new List<ClientEvent>();
        while (client.TryTakeEvent(out var e)) list.Add(e);
        return list;
    }
}
