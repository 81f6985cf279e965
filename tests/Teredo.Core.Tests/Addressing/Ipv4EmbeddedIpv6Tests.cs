using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Tests.Addressing;

public class Ipv4EmbeddedIpv6Tests
{
    /// <summary>RFC 6052 §2.4, the example table for 192.0.2.33 (also used by the NAT64 address map tests).</summary>
    public static TheoryData<string, int, string> Rfc6052Examples => new()
    {
        { "2001:db8::", 32, "2001:db8:c000:221::" },
        { "2001:db8:100::", 40, "2001:db8:1c0:2:21::" },
        { "2001:db8:122::", 48, "2001:db8:122:c000:2:2100::" },
        { "2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::" },
        { "2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0" },
        { "2001:db8:122:344::", 96, "2001:db8:122:344::c000:221" },
        { "64:ff9b::", 96, "64:ff9b::c000:221" },
    };

    [Theory]
    [MemberData(nameof(Rfc6052Examples))]
    public void Rfc6052_example_table(string prefix, int length, string expected)
    {
        var v4 = Ipv4Address.Parse("192.0.2.33");
        var embedded = Ipv4EmbeddedIpv6.Embed(Ipv6Address.Parse(prefix), length, v4);
        Assert.Equal(Ipv6Address.Parse(expected), embedded);
        Assert.True(Ipv4EmbeddedIpv6.TryExtract(embedded, length, out var back, out ulong suffix));
        Assert.Equal(v4, back);
        Assert.Equal(0UL, suffix);
    }

    [Theory]
    [InlineData(32, 56)]
    [InlineData(40, 48)]
    [InlineData(48, 40)]
    [InlineData(56, 32)]
    [InlineData(64, 24)]
    [InlineData(96, 0)]
    public void Suffix_widths(int length, int bits) => Assert.Equal(bits, Ipv4EmbeddedIpv6.SuffixBits(length));

    [Fact]
    public void Nonzero_u_octet_is_refused() =>
        Assert.False(Ipv4EmbeddedIpv6.TryExtract(Ipv6Address.Parse("2001:db8:122:344:1c0:2:2100:0"), 64, out _, out _));

    [Fact]
    public void Invalid_prefix_lengths_throw() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Ipv4EmbeddedIpv6.Embed(Ipv4EmbeddedIpv6.WellKnownPrefix, 80, Ipv4Address.Any));

    [Fact]
    public void Suffix_wider_than_its_field_throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Ipv4EmbeddedIpv6.Embed(Ipv6Address.Parse("2001:db8::"), 64, Ipv4Address.Any, 1UL << 24));
}
