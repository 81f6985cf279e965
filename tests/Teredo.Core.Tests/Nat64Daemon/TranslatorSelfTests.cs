using Teredo.Hosting.Nat64;
using Teredo.Net;
using Teredo.Tests.Support;
using Teredo.Wire;

namespace Teredo.Tests.Nat64Daemon;

public class TranslatorSelfTests
{
    private static readonly Ipv6Address Self6 = Ipv6Address.Parse("2001:db8:64::a40:1");
    private static readonly Ipv6Address Host6 = Ipv6Address.Parse("2001:db8:1::100");
    private static readonly Ipv4Address Self4 = new(10, 64, 0, 1);
    private static readonly Ipv4Address Host4 = new(198, 18, 0, 100);

    // ICMPv6 echo request, id 0x1234 seq 1, payload "ping", hop limit 63; checksum filled in below.
    private static byte[] EchoRequest6(Ipv6Address destination)
    {
        byte[] icmp = [128, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, (byte)'p', (byte)'i', (byte)'n', (byte)'g'];
        var packet = new byte[40 + icmp.Length];
        new Ipv6Header(Host6, destination, IpProtocol.Icmpv6, (ushort)icmp.Length, 63).Emit(packet);
        ushort sum = Checksum.Finish(Checksum.Add(Checksum.Ipv6PseudoHeader(Host6, destination, (uint)icmp.Length, IpProtocol.Icmpv6), icmp));
        icmp[2] = (byte)(sum >> 8);
        icmp[3] = (byte)sum;
        icmp.CopyTo(packet, 40);
        return packet;
    }

    private static byte[] EchoRequest4(Ipv4Address destination, byte protocol = IpProtocol.Icmp)
    {
        byte[] icmp = [8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, (byte)'p', (byte)'i', (byte)'n', (byte)'g'];
        ushort sum = Checksum.Compute(icmp);
        icmp[2] = (byte)(sum >> 8);
        icmp[3] = (byte)sum;
        var packet = new byte[20 + icmp.Length];
        new Ipv4Header(Host4, destination, protocol, (ushort)icmp.Length, 63, 0x4242).Emit(packet);
        icmp.CopyTo(packet, 20);
        return packet;
    }

    [Fact]
    public void An_echo_request_to_the_ipv6_address_gets_a_valid_reply()
    {
        var sink = new TranslationSink();
        Assert.Equal(TranslatorSelf.Outcome.EchoAnswered, TranslatorSelf.FromIpv6(EchoRequest6(Self6), Self6, sink));
        var reply = Assert.Single(sink.Packets);
        Assert.True(Ipv6Packet.TryParse(reply, out var ip));
        Assert.Equal((Self6, Host6, (byte)64), (ip.Source, ip.Destination, ip.HopLimit));
        Assert.Equal(129, ip.Payload[0]);
        Assert.Equal(EchoRequest6(Self6)[44..], reply[44..]);   // identifier, sequence and data echoed
        Assert.Equal(0, Checksum.Finish(Checksum.Add(Checksum.Ipv6PseudoHeader(ip.Source, ip.Destination, (uint)ip.Payload.Length, IpProtocol.Icmpv6), ip.Payload)));
    }

    [Fact]
    public void An_echo_request_to_the_ipv4_address_gets_a_valid_reply()
    {
        var sink = new TranslationSink();
        Assert.Equal(TranslatorSelf.Outcome.EchoAnswered, TranslatorSelf.FromIpv4(EchoRequest4(Self4), Self4, sink));
        var reply = Assert.Single(sink.Packets);
        Assert.True(Ipv4Packet.TryParse(reply, out var ip));
        Assert.Equal((Self4, Host4, (byte)64), (ip.Source, ip.Destination, ip.Ttl));
        Assert.True(ip.VerifyHeaderChecksum());
        Assert.Equal(0, ip.Payload[0]);
        Assert.Equal(0, Checksum.Compute(ip.Payload));
        Assert.Equal(EchoRequest4(Self4)[24..], reply[24..]);
    }

    [Fact]
    public void An_all_zero_echo_request_gets_the_reply_checksum_a_full_sum_gives_not_zero()
    {
        // Type 8, checksum 0xF7FF, identifier, sequence and data zero: the reply is all zeros but its checksum.
        byte[] icmp = [8, 0, 0xF7, 0xFF, 0, 0, 0, 0];
        var packet = new byte[20 + icmp.Length];
        new Ipv4Header(Host4, Self4, IpProtocol.Icmp, (ushort)icmp.Length, 63, 0x4242).Emit(packet);
        icmp.CopyTo(packet, 20);
        var sink = new TranslationSink();
        Assert.Equal(TranslatorSelf.Outcome.EchoAnswered, TranslatorSelf.FromIpv4(packet, Self4, sink));
        var reply = Assert.Single(sink.Packets);
        Assert.Equal(new byte[] { 0, 0, 0xFF, 0xFF, 0, 0, 0, 0 }, reply[20..]);
    }

    [Fact]
    public void Other_traffic_for_the_translator_is_dropped_and_traffic_for_others_passes()
    {
        var sink = new TranslationSink();
        Assert.Equal(TranslatorSelf.Outcome.Dropped, TranslatorSelf.FromIpv4(EchoRequest4(Self4, IpProtocol.Udp), Self4, sink));
        Assert.Equal(TranslatorSelf.Outcome.NotForUs, TranslatorSelf.FromIpv4(EchoRequest4(Host4), Self4, sink));
        Assert.Equal(TranslatorSelf.Outcome.NotForUs, TranslatorSelf.FromIpv6(EchoRequest6(Host6), Self6, sink));
        Assert.Empty(sink.Packets);
    }
}
