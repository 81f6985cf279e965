using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Tests.Addressing;

public class Ipv4ClassificationTests
{
    [Theory]
    [InlineData("0.1.2.3", false)]
    [InlineData("10.0.0.1", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("172.32.0.1", true)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.1.1", false)]
    [InlineData("192.88.99.1", false)]
    [InlineData("224.0.0.253", false)]
    [InlineData("239.255.255.255", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("65.54.227.120", true)]
    [InlineData("198.18.0.10", true)]   // admitted by §5.2.4; the lab's "public" range
    [InlineData("192.0.2.45", true)]
    [InlineData("100.64.0.1", true)]    // not in RFC 4380's list
    [InlineData("9.255.255.255", true)]
    [InlineData("11.0.0.0", true)]
    [InlineData("126.255.255.255", true)]
    [InlineData("128.0.0.0", true)]
    [InlineData("169.253.255.255", true)]
    [InlineData("169.255.0.0", true)]
    [InlineData("172.15.255.255", true)]
    [InlineData("192.88.98.255", true)]
    [InlineData("192.88.100.0", true)]
    [InlineData("192.167.255.255", true)]
    [InlineData("192.169.0.0", true)]
    [InlineData("223.255.255.255", true)]
    [InlineData("240.0.0.1", true)]     // reserved, but not in RFC 4380's list
    [InlineData("255.255.255.254", true)]
    public void Rfc4380_global_unicast_is_exactly_its_list(string text, bool global) =>
        Assert.Equal(global, Ipv4Classification.IsTeredoGlobalUnicast(Ipv4Address.Parse(text)));

    [Theory]
    [InlineData("198.18.0.10", "benchmarking")]
    [InlineData("100.64.0.1", "shared address space")]
    [InlineData("192.0.2.45", "documentation (TEST-NET-1)")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("8.8.8.8", null)]
    public void Rfc6890_table_is_stricter(string text, string? name) =>
        Assert.Equal(name, SpecialPurposeIpv4.Find(Ipv4Address.Parse(text))?.Name);

    [Theory]
    [InlineData("1")]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.256")]
    [InlineData("::1")]
    [InlineData("")]
    public void Ipv4_parse_wants_dotted_quads(string text) => Assert.False(Ipv4Address.TryParse(text, out _));
}
