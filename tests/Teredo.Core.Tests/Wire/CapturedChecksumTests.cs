using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Wire;

public class CapturedChecksumTests
{
    public static TheoryData<string> Packets => new() { "RS", "RA", "Bubble", "Echo" };

    private static byte[] Get(string name) => name switch
    {
        "RS" => CapturedPackets.RouterSolicitation,
        "RA" => CapturedPackets.RouterAdvertisement,
        "Bubble" => CapturedPackets.IndirectBubble,
        _ => CapturedPackets.ConnectivityTestEcho,
    };

    [Theory, MemberData(nameof(Packets))]
    public void Kernel_ipv4_header_checksum_verifies_and_recomputes(string name)
    {
        byte[] packet = Get(name);
        Assert.True(Ipv4Packet.TryParse(packet, out var ip));
        Assert.True(ip.VerifyHeaderChecksum());

        var rebuilt = new byte[20];
        new Ipv4Header(ip.Source, ip.Destination, ip.Protocol, (ushort)(ip.TotalLength - 20), ip.Ttl, ip.Identification).Emit(rebuilt);
        Assert.Equal(packet[..20], rebuilt);
    }

    [Theory, MemberData(nameof(Packets))]
    public void Kernel_udp_checksum_verifies_and_recomputes(string name)
    {
        byte[] packet = Get(name);
        Assert.True(Ipv4Packet.TryParse(packet, out var ip));
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
        Assert.NotEqual(0, udp.ChecksumField);
        Assert.True(udp.VerifyChecksum(ip.Source, ip.Destination));

        var copy = ip.Payload.ToArray();
        UdpDatagram.Emit(copy, ip.Source, udp.SourcePort, ip.Destination, udp.DestinationPort, udp.Payload.Length);
        Assert.Equal(ip.Payload.ToArray(), copy);
    }

    [Fact]
    public void A_flipped_bit_fails_the_udp_checksum()
    {
        byte[] packet = CapturedPackets.RouterAdvertisement;
        packet[60] ^= 0x10;
        Assert.True(Ipv4Packet.TryParse(packet, out var ip));
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var udp));
        Assert.False(udp.VerifyChecksum(ip.Source, ip.Destination));
    }

    [Theory]
    [InlineData("RS")]
    [InlineData("RA")]
    [InlineData("Echo")]
    public void Miredo_icmpv6_checksum_verifies(string name)
    {
        Assert.Equal(TeredoParseError.None, TeredoDatagram.TryParse(CapturedPackets.TeredoPayload(Get(name)), out var teredo));
        Assert.True(Icmpv6Packet.TryParse(teredo.Ipv6, out var icmp));
        Assert.True(icmp.VerifyChecksum(teredo.Ipv6.Source, teredo.Ipv6.Destination));
        Assert.False(icmp.VerifyChecksum(Ipv6Address.Parse("fe80::1"), teredo.Ipv6.Destination));
    }

    [Fact]
    public void Rfc1071_example_sums_to_ddf2()
    {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum (folded) to ddf2.
        ulong sum = Checksum.Add(0, Convert.FromHexString("0001f203f4f5f6f7"));
        Assert.Equal((ushort)0x220d, Checksum.Finish(sum)); // ~0xddf2
    }

    [Fact]
    public void Odd_length_is_padded_with_a_zero_byte()
    {
        Assert.Equal(Checksum.Compute([0xAB, 0xCD, 0xEF, 0x00]), Checksum.Compute([0xAB, 0xCD, 0xEF]));
    }

    [Fact]
    public void Ipv6_udp_checksum_round_trips()
    {
        var src = Ipv6Address.Parse("2001:db8::1");
        var dst = Ipv6Address.Parse("2001:db8::2");
        byte[] udp = [0x12, 0x34, 0x0d, 0xd8, 0, 11, 0, 0, 1, 2, 3];
        ulong sum = Checksum.Add(Checksum.Ipv6PseudoHeader(src, dst, (uint)udp.Length, IpProtocol.Udp), udp);
        ushort c = Checksum.Finish(sum);
        udp[6] = (byte)(c >> 8);
        udp[7] = (byte)c;
        Assert.True(UdpDatagram.TryParse(udp, out var d));
        Assert.True(d.VerifyChecksum(src, dst));
    }
}
