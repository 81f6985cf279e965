using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Tests.Addressing;

public class CoordinatorAddressTests
{
    private static readonly Ipv4Address S = new(198, 18, 0, 10);

    [Fact]
    public void Dynamic_address_embeds_the_destination_after_a_zero_u_octet()
    {
        var a = CoordinatorAddress.Dynamic(S, new Ipv4Address(198, 51, 100, 7));
        Assert.Equal("2001:0:c612:a:c6:3364:700:0", a.ToString());
        Assert.Equal(CoordinatorAddressKind.Dynamic, a.Kind);
        // A relay reads it as a Teredo address: same server, cone bit clear, flags low byte = D[0].
        var teredo = new TeredoAddress(a.ToIpv6());
        Assert.Equal(S, teredo.Server);
        Assert.False(teredo.Flags.IsCone);
        Assert.Equal(198, teredo.Flags.Value);
    }

    [Fact]
    public void Static_address_round_trips()
    {
        var a = CoordinatorAddress.Static(S, new Ipv4Address(10, 2, 0, 2), 0x000102);
        Assert.Equal("2001:0:c612:a:a:200:200:102", a.ToString());
        Assert.True(CoordinatorAddress.TryParse(a.ToIpv6(), out var parsed, out string? reason));
        Assert.Null(reason);
        Assert.Equal(a, parsed);
        Assert.Equal(CoordinatorAddressKind.Static, parsed.Kind);
    }

    [Fact]
    public void Static_needs_a_private_address_and_a_nonzero_identifier()
    {
        Assert.Throws<ArgumentException>(() => CoordinatorAddress.Static(S, new Ipv4Address(8, 8, 8, 8), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => CoordinatorAddress.Static(S, new Ipv4Address(10, 0, 0, 1), 0));
        Assert.False(CoordinatorAddress.TryParse(Ipv6Address.Parse("2001:0:c612:a:8:808:800:1"), out _, out string? reason));
        Assert.Contains("RFC 1918", reason);
    }

    [Fact]
    public void Outside_the_plan()
    {
        Assert.False(CoordinatorAddress.TryParse(Ipv6Address.Parse("2001:db8::1"), out _, out _));
        Assert.False(CoordinatorAddress.TryParse(Ipv6Address.Parse("2001:0:4136:e378:8000:63bf:3fff:fdd2"), out _, out string? reason));
        Assert.Contains("u octet", reason);
    }
}
