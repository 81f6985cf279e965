using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Wire;

/// <summary>
/// Each setter of the writable views against literal bytes (worked out by hand or with a one-line sum), and
/// the checksum-preserving setters against the checksum a full recomputation gives.
/// </summary>
public class WritableViewTests
{
    /// <summary>The textbook IPv4 header (checksum B861), 192.168.0.1 → 192.168.0.199, UDP, TTL 64, DF.</summary>
    private const string TextbookIpv4 = "4500007300004000" + "4011B861" + "C0A80001" + "C0A800C7";

    [Fact]
    public void Ipv4_getters_read_what_the_setters_wrote()
    {
        byte[] bytes = Convert.FromHexString(TextbookIpv4);
        var w = new Ipv4PacketWriter(bytes);
        Assert.Equal((20, 0x73, 64, IpProtocol.Udp, (ushort)0xB861), (w.HeaderLength, w.TotalLength, w.Ttl, w.Protocol, w.HeaderChecksum));
        Assert.True(w.DontFragment);
        Assert.Equal(Ipv4Address.Parse("192.168.0.199"), w.Destination);
        w.Identification = 0xBEEF;
        w.TypeOfService = 0xB8;
        w.SetFragment(dontFragment: false, moreFragments: true, offset: 1480);
        Assert.Equal(Convert.FromHexString("45B80073BEEF20B9"), bytes[..8]);
        Assert.Equal((0xBEEF, 0xB8, true, 1480, false), (w.Identification, w.TypeOfService, w.MoreFragments, w.FragmentOffset, w.DontFragment));
    }

    [Fact]
    public void Ipv4_ttl_and_source_rewrites_keep_the_header_checksum()
    {
        byte[] bytes = Convert.FromHexString(TextbookIpv4);
        var w = new Ipv4PacketWriter(bytes);
        w.ReplaceSource(Ipv4Address.Parse("10.0.0.1"));
        Assert.Equal(Convert.FromHexString("4500007300004000" + "40116F0A" + "0A000001" + "C0A800C7"), bytes);
        // TTL 64 → 63: the word 0x4011 drops by 0x0100, so the checksum rises by as much.
        w.ReplaceTtl(63);
        Assert.Equal(Convert.FromHexString("4500007300004000" + "3F11700A" + "0A000001" + "C0A800C7"), bytes);
        w.ReplaceDestination(Ipv4Address.Parse("192.168.0.1"));
        ushort incremental = w.HeaderChecksum;
        w.FillChecksum();
        Assert.Equal(w.HeaderChecksum, incremental);
    }

    [Fact]
    public void Ipv4_header_emit_is_the_writer()
    {
        var bytes = new byte[20];
        new Ipv4Header(Ipv4Address.Parse("192.168.0.1"), Ipv4Address.Parse("192.168.0.199"), IpProtocol.Udp, 0x73 - 20, DontFragment: true).Emit(bytes);
        Assert.Equal(Convert.FromHexString(TextbookIpv4), bytes);
    }

    [Fact]
    public void Ipv4_quoted_packet_keeps_its_claimed_length()
    {
        // An ICMP error quotes the header and 8 bytes of a 0x73-byte packet.
        byte[] quote = Convert.FromHexString(TextbookIpv4 + "04D2003500000000");
        Assert.False(Ipv4Packet.TryParse(quote, out _));
        Assert.True(Ipv4Packet.TryParseQuoted(quote, out var q));
        Assert.Equal((0x73, 8, IpProtocol.Udp), (q.TotalLength, q.Payload.Length, q.Protocol));
        Assert.False(Ipv4Packet.TryParseQuoted(quote.AsSpan(0, 19), out _));
        quote[0] = 0x46; // IHL 6 needs 24 header bytes; 28 are there
        Assert.True(Ipv4Packet.TryParseQuoted(quote, out q));
        Assert.Equal(4, q.Payload.Length);
    }

    [Fact]
    public void Ipv6_getters_read_what_the_setters_wrote()
    {
        var bytes = new byte[40];
        var w = new Ipv6PacketWriter(bytes);
        w.SetVersionClassFlow(0xB8, 0x12345);
        w.PayloadLength = 0x0501;
        w.NextHeader = IpProtocol.Tcp;
        w.HopLimit = 255;
        w.Source = Ipv6Address.Parse("2001:db8::1");
        w.Destination = Ipv6Address.Parse("64:ff9b::c000:201");
        Assert.Equal(Convert.FromHexString("6B812345" + "0501" + "06" + "FF" + "20010DB8000000000000000000000001" + "0064FF9B0000000000000000C0000201"), bytes);
        Assert.Equal((6, 0xB8, 0x12345u, 0x0501, IpProtocol.Tcp, 255), (w.Version, w.TrafficClass, w.FlowLabel, w.PayloadLength, w.NextHeader, w.HopLimit));
        Assert.Equal(Ipv6Address.Parse("64:ff9b::192.0.2.1"), w.Destination);
        Assert.False(Ipv6Packet.TryParse(bytes, out _));
        Assert.True(Ipv6Packet.TryParseQuoted(bytes, out var q));
        Assert.Equal((0x0501, 0), (q.PayloadLength, q.Payload.Length));
    }

    [Fact]
    public void Udp_writer_fields_and_checksum()
    {
        // 192.0.2.1:1234 → 198.51.100.2:53, payload "hi"; the checksum summed by hand is A632.
        var source = Ipv4Address.Parse("192.0.2.1");
        var destination = Ipv4Address.Parse("198.51.100.2");
        byte[] bytes = [0, 0, 0, 0, 0, 0, 0, 0, (byte)'h', (byte)'i'];
        Assert.Equal(10, UdpDatagram.Emit(bytes, source, 1234, destination, 53, 2));
        Assert.Equal(Convert.FromHexString("04D20035000AA632" + "6869"), bytes);
        var w = new UdpDatagramWriter(bytes);
        Assert.Equal((1234, 53, 10, 0xA632), (w.SourcePort, w.DestinationPort, w.Length, w.Checksum));
        w.ReplaceDestinationPort(5353);
        Assert.Equal(Convert.FromHexString("04D214E9000A917E" + "6869"), bytes);
        Assert.True(UdpDatagram.TryParse(bytes, out var d) && d.VerifyChecksum(source, destination));
    }

    [Fact]
    public void Udp_without_checksum_stays_without_one()
    {
        byte[] bytes = Convert.FromHexString("04D20035000A0000" + "6869");
        var w = new UdpDatagramWriter(bytes);
        w.ReplaceSourcePort(4321);
        w.UpdateChecksum(Checksum.Sum(Ipv4Address.Parse("192.0.2.1")), Checksum.Sum(Ipv4Address.Parse("203.0.113.9")));
        Assert.Equal(Convert.FromHexString("10E10035000A0000" + "6869"), bytes);
    }

    [Fact]
    public void Udp_header_view_accepts_a_first_fragment()
    {
        // Length field 1000, 10 bytes present: not a datagram, but its header is there to be translated.
        byte[] bytes = Convert.FromHexString("04D2003503E81234" + "6869");
        Assert.False(UdpDatagram.TryParse(bytes, out _));
        Assert.True(UdpDatagram.TryParseHeader(bytes, out var header));
        Assert.Equal((1000, 0x1234), (header.Length, header.ChecksumField));
        Assert.False(UdpDatagram.TryParseHeader(bytes.AsSpan(0, 7), out _));
    }

    [Fact]
    public void Tcp_writer_ports_and_checksum()
    {
        // SYN 192.0.2.1:40000 → 198.51.100.2:80, seq 1, window 65535: checksum 271A.
        byte[] bytes = Convert.FromHexString("9C400050" + "00000001" + "00000000" + "5002FFFF" + "271A0000");
        Assert.True(TcpSegment.TryParse(bytes, out var view));
        Assert.Equal((40000, 80, 0x271A), (view.SourcePort, view.DestinationPort, view.ChecksumField));
        var w = new TcpSegmentWriter(bytes);
        w.ReplaceSourcePort(40001);
        Assert.Equal(Convert.FromHexString("9C410050" + "00000001" + "00000000" + "5002FFFF" + "27190000"), bytes);
        w.DestinationPort = 443;
        w.Checksum = 0xABCD;
        Assert.Equal(Convert.FromHexString("9C4101BB"), bytes[..4]);
        Assert.Equal(0xABCD, w.Checksum);
        Assert.False(TcpSegment.TryParse(bytes.AsSpan(0, 17), out _));
    }

    [Fact]
    public void Icmp_echo_identifier_sequence_and_type_change()
    {
        // Echo request, identifier 0x1234, sequence 1: sum 0x0800 + 0x1234 + 0x0001, checksum E5CA.
        byte[] bytes = Convert.FromHexString("0800E5CA12340001");
        var w = new IcmpHeaderWriter(bytes);
        Assert.Equal((0x1234, 1), (w.Identifier, w.Sequence));
        w.ReplaceType(Icmpv4Type.EchoReply);
        Assert.Equal(Convert.FromHexString("0000EDCA12340001"), bytes);
        Assert.Equal(0, Checksum.Compute(bytes));
        w.Identifier = 0xCAFE;
        w.Sequence = 0xBEEF;
        Assert.Equal(Convert.FromHexString("CAFEBEEF"), bytes[4..]);
        Assert.True(IcmpHeader.TryParse(bytes, out var view));
        Assert.Equal((0xCAFE, 0xBEEF, 0xCAFEBEEFu), (view.Identifier, view.Sequence, view.Rest));
        Assert.False(IcmpHeader.TryParse(bytes.AsSpan(0, 7), out _));
    }

    [Fact]
    public void All_zero_icmpv4_echo_reply_gets_ffff_not_zero()
    {
        // RFC 1624 §3: the echo reply below is all zeros once translated, whose checksum is 0xFFFF; eqn. 3 alone gives 0x0000.
        var source = Ipv6Address.Parse("2001:db8::1");
        var destination = Ipv6Address.Parse("64:ff9b::c000:201");
        byte[] message = [Icmpv6Type.EchoReply, 0, 0, 0, 0, 0, 0, 0];
        Icmpv6Packet.FillChecksum(message, source, destination);
        IcmpTranslation.TranslateEcho(message, toIpv6: false, Icmpv4Type.EchoReply, source, destination, (uint)message.Length);
        Assert.Equal(Convert.FromHexString("0000FFFF00000000"), message);
        Assert.Equal(0, Checksum.Compute(message));
        // Any other message keeps eqn. 3's result.
        Assert.Equal(0x0000, Checksum.FixAllZero(0x0000, [0, 0, 0, 0, 0, 0, 0, 1]));
        Assert.Equal(0x1234, Checksum.FixAllZero(0x1234, [0, 0, 0x12, 0x34]));
    }

    [Fact]
    public void Origin_indication_and_authentication_bytes()
    {
        byte[] origin = new byte[8];
        TeredoOriginIndication.Emit(origin, new Ipv4Endpoint(Ipv4Address.Parse("192.0.2.45"), 40000));
        Assert.Equal(Convert.FromHexString("0000" + "63BF" + "3FFFFDD2"), origin);

        byte[] auth = new byte[4 + 2 + 20 + 8 + 1];
        int n = TeredoAuthentication.Emit(auth, [0xAA, 0xBB], 20, 0x0102030405060708, 0x01);
        Assert.Equal(auth.Length, n);
        Assert.Equal(Convert.FromHexString("00010214" + "AABB" + new string('0', 40) + "0102030405060708" + "01"), auth);
        Assert.True(TeredoAuthentication.TryParse(auth, out var a));
        Assert.Equal(6, a.AuthenticationValueOffset);
    }

    [Fact]
    public void Incremental_helpers_match_rfc1624_and_recomputation()
    {
        // RFC 1624 §4's example through the word helper.
        Assert.Equal(0x0000, Checksum.UpdateWord(0xDD2F, 0x5555, 0x3285));
        // An IPv6 address in a pseudo-header: the checksum after the change equals the sum redone.
        var a = Ipv6Address.Parse("2001:db8::1");
        var b = Ipv6Address.Parse("2001:db8:ffff::abcd");
        ulong rest = 0x11 + 0x20;
        ushort before = Checksum.Finish(Checksum.Sum(a) + rest);
        Assert.Equal(Checksum.Finish(Checksum.Sum(b) + rest), Checksum.UpdateAddress(before, a, b));
        Assert.Equal(Checksum.Finish(0x1234 + 0x5678 + rest), Checksum.UpdateDoubleWord(Checksum.Finish(0xFFFF + 0xFFFF + rest), 0xFFFFFFFF, 0x12345678));
        // UDP: zero means none and stays so; a result of zero goes out as 0xFFFF.
        Assert.Equal(0, Checksum.UpdateUdp(0, 1, 2));
        Assert.Equal(0xFFFF, Checksum.UpdateUdp(0xDD2F, 0x5555, 0x3285));
    }
}
