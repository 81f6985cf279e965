using Teredo.Cli.Commands;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Ipv6Peer;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Ipv6Peer;

public class Ipv6PeerConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Write(string text) => _dir.Write("v6peer.conf", text);

    public void Dispose() => _dir.Dispose();

    private const string Minimal = """
        Prefix 2001:db8:64::/96
        Pool 2001:db8:100::/112
        Coordinator 198.18.0.1
        ClientNetwork 2001:db8:1::/64
        AllowDestination 198.18.0.0/15
        """;

    [Fact]
    public void Reads_a_directive_file_with_repeated_directives()
    {
        var s = Ipv6PeerConfiguration.Load(Write("""
            # two coordinators, two client networks
            Prefix 2001:db8:64::/64
            Pool 2001:db8:100::/120
            Coordinator 198.18.0.1
            Coordinator 198.18.0.2, 198.18.0.3
            ClientNetwork 2001:db8:1::/64
            ClientNetwork 2001:db8:2::/64
            AllowDestination 198.18.0.0/15
            ProbeTarget 198.18.0.200
            ResponseWindow 5
            InterfaceName nat64p
            ControlSocket /run/teredo/test.sock
            """));
        Assert.Equal(64, s.Engine.PrefixLength);
        Assert.Equal(120, s.Engine.PoolLength);
        Assert.Equal([new Ipv4Address(198, 18, 0, 1), new Ipv4Address(198, 18, 0, 2), new Ipv4Address(198, 18, 0, 3)], s.Engine.Coordinators);
        Assert.Equal(2, s.Engine.ClientNetworks.Count);
        Assert.Equal(new Ipv4Address(198, 18, 0, 200), s.Engine.ProbeTarget);
        Assert.Equal(5000, s.Engine.ResponseWindowMs);
        Assert.Equal("nat64p", s.InterfaceName);
        Assert.Equal(RelayMode.External, s.Relay);
        Assert.Equal(RelayMode.Embedded, Ipv6PeerConfiguration.Load(Write(Minimal), o => o["Relay"] = "embedded").Relay);
    }

    [Fact]
    public void Options_replace_every_line_of_their_directive()
    {
        var s = Ipv6PeerConfiguration.Load(Write(Minimal), o => o["Coordinator"] = "198.18.0.7 198.18.0.8");
        Assert.Equal([new Ipv4Address(198, 18, 0, 7), new Ipv4Address(198, 18, 0, 8)], s.Engine.Coordinators);
        Assert.Equal(96, Ipv6PeerConfiguration.Load(null, o =>
        {
            o["Prefix"] = "2001:db8:64::";
            o["Pool"] = "2001:db8:100::/112";
            o["Coordinator"] = "198.18.0.1";
            o["ClientNetwork"] = "2001:db8:1::/64";
            o["AllowDestination"] = "198.18.0.0/15";
        }).Engine.PrefixLength);
    }

    [Theory]
    [InlineData("Frobnicate yes\n", "v6peer.conf:6: unknown directive 'Frobnicate'")]
    [InlineData("Relay sideways\n", "v6peer.conf:6: Relay wants external or embedded")]
    [InlineData("Coordinator 198.18.0\n", "v6peer.conf:6: Coordinator wants an IPv4 address")]
    [InlineData("AllowDestination 10.0.0.0/33\n", "v6peer.conf:6: AllowDestination wants an IPv4 network")]
    public void Mistakes_name_the_line(string extra, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Ipv6PeerConfiguration.Load(Write(Minimal + "\n" + extra)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Settings_the_engine_cannot_use_are_configuration_errors()
    {
        Assert.Contains("Prefix is required", Assert.Throws<ConfigException>(() => Ipv6PeerConfiguration.Load(Write("Pool 2001:db8:100::/112\n"))).Message);
        Assert.Contains("RFC 6052", Assert.Throws<ConfigException>(() =>
            Ipv6PeerConfiguration.Load(Write(Minimal), o => o["Prefix"] = "2001:db8:64::/80")).Message);
        Assert.Contains("not a global IPv4 address", Assert.Throws<ConfigException>(() =>
            Ipv6PeerConfiguration.Load(Write(Minimal.Replace("AllowDestination 198.18.0.0/15", "")))).Message);
        Assert.Contains("client network", Assert.Throws<ConfigException>(() =>
            Ipv6PeerConfiguration.Load(Write(Minimal.Replace("ClientNetwork 2001:db8:1::/64", "")))).Message);
    }

    [Fact]
    public void Forwarding_off_is_refused_with_the_sysctl_named()
    {
        string off = _dir.Write("forwarding-off", "0\n");
        string on = _dir.Write("forwarding-on", "1\n");
        Assert.True(Ipv6Forwarding.IsOn(on));
        Assert.False(Ipv6Forwarding.IsOn(off));
        Assert.False(Ipv6Forwarding.IsOn(off + ".missing"));
        var e = Assert.Throws<InvalidOperationException>(() => Ipv6Forwarding.Require(off));
        Assert.Contains("net.ipv6.conf.all.forwarding", e.Message);
    }

    [Fact]
    public void The_command_offers_the_contract_options()
    {
        var command = V6PeerCommand.Create();
        var names = command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
        foreach (string option in new[] { "-c", "--prefix", "--pool", "--coordinator", "--client-network", "--allow-destination", "--relay", "--interface", "--control" })
            Assert.Contains(option, names);
    }
}
