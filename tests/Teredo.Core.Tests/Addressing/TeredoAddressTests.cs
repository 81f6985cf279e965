using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Tests.Addressing;

public class TeredoAddressTests
{
    [Theory]
    // Issue 2 / Wikipedia: Microsoft's server, cone NAT, 192.0.2.45:40000.
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", "65.54.227.120", 0x8000, "192.0.2.45", 40000)]
    // Seed 001 decodes this by hand: server 17.23.52.250, port 51380, NAT 30.3.9.202.
    [InlineData("2001:0:1117:34fa:1027:374b:e1fc:f635", "17.23.52.250", 0x1027, "30.3.9.202", 51380)]
    // Server 1.2.3.4, client mapped at 9.0.0.1:4096, cone and not.
    [InlineData("2001:0:102:304:8000:efff:f6ff:fffe", "1.2.3.4", 0x8000, "9.0.0.1", 4096)]
    [InlineData("2001:0:102:304:0:efff:f6ff:fffe", "1.2.3.4", 0x0000, "9.0.0.1", 4096)]
    // Captured from Miredo in the lab (RFC 5991 random bits, no cone bit).
    [InlineData("2001:0:c612:c801:67:63af:39ed:37f5", "198.18.200.1", 0x0067, "198.18.200.10", 40016)]
    public void Decodes_and_builds_known_addresses(string text, string server, int flags, string mapped, int port)
    {
        var address = new TeredoAddress(Ipv6Address.Parse(text));
        Assert.True(TeredoAddress.IsTeredo(address.Address));
        Assert.Equal(Ipv4Address.Parse(server), address.Server);
        Assert.Equal((ushort)flags, address.Flags.Value);
        Assert.Equal(Ipv4Address.Parse(mapped), address.MappedAddress);
        Assert.Equal(port, address.MappedPort);

        var built = TeredoAddress.Create(Ipv4Address.Parse(server), new TeredoFlags((ushort)flags),
            new Ipv4Endpoint(Ipv4Address.Parse(mapped), (ushort)port));
        Assert.Equal(address, built);
        Assert.Equal(text, built.ToString());
    }

    [Fact]
    public void Client_address_from_ra_prefix_and_origin_indication()
    {
        // The captured RA: prefix 2001:0:c612:c801::/64, origin 198.18.200.10:40016; Miredo chose flags 0x0067.
        var address = TeredoAddress.FromPrefix(Ipv6Address.Parse("2001:0:c612:c801::"), new TeredoFlags(0x0067),
            new Ipv4Endpoint(new Ipv4Address(198, 18, 200, 10), 40016));
        Assert.Equal("2001:0:c612:c801:67:63af:39ed:37f5", address.ToString());
    }

    [Fact]
    public void Teredo_link_local_of_miredo_server()
    {
        // The captured RA came from fe80::8000:f227:39ed:37fe: cone flags, port 3544, 198.18.200.1.
        var ll = TeredoAddress.LinkLocal(TeredoFlags.Cone, new Ipv4Endpoint(new Ipv4Address(198, 18, 200, 1), 3544));
        Assert.Equal("fe80::8000:f227:39ed:37fe", ll.ToString());
        Assert.True(ll.IsLinkLocal);
    }

    [Fact]
    public void Rfc5991_flags_keep_random_bits_out_of_cone_reserved_and_ug()
    {
        for (ushort r = 0; r < 0x1000; r++)
        {
            var f = TeredoFlags.Create(false, r);
            Assert.Equal(r, f.RandomBits);
            Assert.False(f.IsCone);
            Assert.False(f.ReservedBit);
            Assert.False(f.UniversalGroupBits);
        }
        Assert.True(TeredoFlags.Create(true, 0xFFF).IsCone);
        Assert.Equal(0x427, new TeredoFlags(0x1027).RandomBits);
    }

    [Theory]
    [InlineData("2001:db8::1", false)]
    [InlineData("2002::1", false)]
    [InlineData("2001:0:ffff::1", true)]
    [InlineData("2001:1::1", false)]
    public void Teredo_prefix_membership(string text, bool teredo) =>
        Assert.Equal(teredo, TeredoAddress.IsTeredo(Ipv6Address.Parse(text)));
}
