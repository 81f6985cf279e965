using Teredo.Net;
using Teredo.Nat64;
using Teredo.Wire;

namespace Teredo.Tests.Nat64;

/// <summary>The writable views and the incremental checksum, from literal byte vectors.</summary>
public class Nat64WireTests
{
    [Fact]
    public void Incremental_update_matches_rfc1624_example()
    {
        // RFC 1624 §4: HC = 0xDD2F, a word changes from 0x5555 to 0x3285: HC' = 0x0000 (eqn. 3).
        Assert.Equal(0x0000, Checksum.Update(0xDD2F, 0x5555, 0x3285));
    }

    [Fact]
    public void Incremental_update_equals_recomputing()
    {
        byte[] data = Convert.FromHexString("4500007300004000401100000A0000010A0000C7");
        ushort before = Checksum.Compute(data);
        data[19] = 0x42; // 0x00C7 → 0x0042 in the last word
        Assert.Equal(Checksum.Compute(data), Checksum.Update(before, 0x00C7, 0x0042));
    }

    [Fact]
    public void Ipv4_writer_builds_the_textbook_header()
    {
        // The header of RFC 1071 folklore (Wikipedia's example): checksum B861.
        byte[] expected = Convert.FromHexString("450000730000400040 11B861C0A80001C0A800C7".Replace(" ", ""));
        var bytes = new byte[20];
        var w = new Ipv4PacketWriter(bytes);
        w.HeaderLength = 20;
        w.TypeOfService = 0;
        w.TotalLength = 0x73;
        w.Identification = 0;
        w.SetFragment(dontFragment: true, moreFragments: false, offset: 0);
        w.Ttl = 64;
        w.Protocol = IpProtocol.Udp;
        w.Source = Ipv4Address.Parse("192.168.0.1");
        w.Destination = Ipv4Address.Parse("192.168.0.199");
        w.FillChecksum();
        Assert.Equal(expected, bytes);
        Assert.True(Ipv4Packet.TryParse(bytes.Concat(new byte[0x73 - 20]).ToArray(), out var p));
        Assert.True(p.VerifyHeaderChecksum());
    }

    [Fact]
    public void Ipv6_writer_and_fragment_header()
    {
        var bytes = new byte[48];
        var w = new Ipv6PacketWriter(bytes);
        w.SetVersionClassFlow(0xB8, 0x12345);
        w.PayloadLength = 8;
        w.NextHeader = Ipv6FragmentHeader.Protocol;
        w.HopLimit = 63;
        w.Source = Ipv6Address.Parse("2001:db8::1");
        w.Destination = Ipv6Address.Parse("2001:db8::2");
        new Ipv6FragmentHeader(bytes.AsSpan(40)).Set(IpProtocol.Udp, 1232, moreFragments: true, 0xABCD1234);
        Assert.Equal(Convert.FromHexString(
            "6B812345" + "0008" + "2C" + "3F" + "20010DB8000000000000000000000001" + "20010DB8000000000000000000000002" +
            "11" + "00" + "04D1" + "ABCD1234"), bytes);
        var f = new Ipv6FragmentHeader(bytes.AsSpan(40));
        Assert.Equal((IpProtocol.Udp, 1232, true, 0xABCD1234u), (f.NextHeader, f.FragmentOffset, f.MoreFragments, f.Identification));
    }

    [Fact]
    public void Extension_header_walk_of_a_literal_packet()
    {
        // Hop-by-hop (8) → destination options (8) → fragment (offset 0, M) → UDP.
        byte[] packet = Convert.FromHexString(
            "60000000" + "0020" + "00" + "40" + new string('0', 64) +
            "3C00010400000000" + "2C00010400000000" + "1100000100000007" + "0001000200080000");
        Assert.True(Ipv6ExtensionHeaders.TryWalk(packet, out var ext));
        Assert.Equal(IpProtocol.Udp, ext.UpperProtocol);
        Assert.Equal(64, ext.UpperOffset);
        Assert.Equal(56, ext.FragmentOffsetInPacket);
        Assert.True(ext.IsFragmented(packet));
        Assert.Equal(7u, ext.FragmentIdentification(packet));
        Assert.False(ext.HeaderAfterFragment);
        Assert.Equal(-1, ext.ActiveRoutingHeader);
    }

    [Fact]
    public void Icmp_header_writer_fields()
    {
        byte[] bytes = Convert.FromHexString("0304ABCD00000578");
        var w = new IcmpHeaderWriter(bytes);
        Assert.Equal((3, 4, 0xABCD, 1400), (w.Type, w.Code, w.Checksum, w.MtuV4));
        w.Type = Icmpv6Type.PacketTooBig;
        w.Code = 0;
        w.MtuV6 = 1280;
        Assert.Equal(Convert.FromHexString("0200ABCD00000500"), bytes);
        w.LengthV4 = 32;
        Assert.Equal(0x20, bytes[5]);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(4, 2)]
    [InlineData(6, 9)]
    [InlineData(7, 8)]
    [InlineData(8, 12)]
    [InlineData(23, 12)]
    [InlineData(24, 16)]
    [InlineData(39, 16)]
    [InlineData(2, -1)]
    [InlineData(40, -1)]
    public void Parameter_problem_pointer_6to4(uint pointer6, int pointer4) => Assert.Equal(pointer4, IcmpTranslation.Pointer6To4(pointer6));

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 4)]
    [InlineData(8, 7)]
    [InlineData(9, 6)]
    [InlineData(12, 8)]
    [InlineData(16, 24)]
    [InlineData(19, 24)]
    [InlineData(4, -1)]
    [InlineData(10, -1)]
    [InlineData(20, -1)]
    public void Parameter_problem_pointer_4to6(byte pointer4, int pointer6) => Assert.Equal(pointer6, IcmpTranslation.Pointer4To6(pointer4));

    [Theory]
    [InlineData(1500, 1492)]
    [InlineData(1492, 1006)]
    [InlineData(65535, 32000)]
    [InlineData(60, 68)]
    public void Rfc1191_plateaus(int totalLength, int plateau) => Assert.Equal(plateau, IcmpTranslation.Plateau(totalLength));
}
