using Teredo.Hosting.Addresses;
using Teredo.Hosting.Configuration;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Relay;

public class RelayConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Write(string text) => _dir.Write("miredo.conf", text);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_a_miredo_relay_conf_unchanged()
    {
        var s = RelayConfiguration.Load(Write("""
            # a relay with a public address
            RelayType cone
            InterfaceName teredo
            BindAddress 198.18.0.20
            BindPort 3545
            InterfaceMTU 1280
            Prefix 2001:0000::
            SyslogFacility daemon
            RelayAddress 2001:db8:1::20
            """));
        Assert.Equal("teredo", s.InterfaceName);
        Assert.Equal(new Ipv4Address(198, 18, 0, 20), s.BindAddress);
        Assert.Equal(3545, s.BindPort);
        Assert.False(s.Engine.BehindNat);
        Assert.Null(s.Engine.ServedAddresses);
        Assert.Equal(Ipv6Address.Parse("2001:db8:1::20"), s.Engine.OwnAddress);
    }

    [Fact]
    public void Restricted_relays_also_send_direct_bubbles() =>
        Assert.True(RelayConfiguration.Load(Write("RelayType restricted\n")).Engine.BehindNat);

    [Fact]
    public void Host_specific_mode_serves_only_local_addresses()
    {
        var parsed = RelayConfiguration.Load(Write("HostSpecific yes\n"));
        Assert.True(parsed.HostSpecific);
        // Parsing reads no interface: until resolved at start, a host-specific relay serves nothing.
        Assert.Empty(parsed.Engine.ServedAddresses!);
        Ipv6Address.TryParse("2001:db8:1::20", out var a);
        Ipv6Address.TryParse("2001:db8:1::21", out var b);
        var s = HostResolution.Resolve(parsed, [(a, "eth0"), (b, "eth1")]);
        Assert.Equal(new HashSet<Ipv6Address> { a, b }, s.Engine.ServedAddresses);
        Assert.Equal(a, s.Engine.OwnAddress);
    }

    [Fact]
    public void RelayAddress_wins_over_the_host_s_address_and_none_leaves_it_unset()
    {
        Ipv6Address.TryParse("2001:db8:1::99", out var native);
        var given = HostResolution.Resolve(RelayConfiguration.Load(Write("RelayAddress 2001:db8:1::20\n")), [(native, "eth0")]);
        Assert.Equal("2001:db8:1::20", given.Engine.OwnAddress.ToString());
        var none = HostResolution.Resolve(RelayConfiguration.Load(Write("RelayType relay\n")), []);
        Assert.Null(none.Engine.OwnAddress);
    }

    [Theory]
    [InlineData("RelayType client\n", "miredo.conf:1: RelayType client is a client: run 'teredo client'")]
    [InlineData("RelayType relay\nServerAddress 198.18.0.10\n", "miredo.conf:2: ServerAddress is only valid in client mode")]
    [InlineData("RelayType relay\nFrobnicate yes\n", "miredo.conf:2: unknown directive 'Frobnicate'")]
    [InlineData("BindPort 70000\n", "miredo.conf:1: BindPort wants a number from 0 to 65535")]
    [InlineData("RelayType sideways\n", "miredo.conf:1: RelayType wants relay, cone or restricted")]
    public void Errors_name_the_file_and_line(string text, string message)
    {
        var e = Assert.Throws<ConfigException>(() => RelayConfiguration.Load(Write(text)));
        Assert.Contains(message, e.Message);
    }
}
