using Teredo.Hosting.Addresses;
using Teredo.Hosting.Configuration;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Server;

public class ServerConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Write(string name, string text) => _dir.Write(name, text);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_a_miredo_server_conf_unchanged()
    {
        string path = Write("miredo-server.conf", """
            # Debian's example, with every miredo-server.conf(5) directive
            ServerBindAddress 198.18.0.10

            serverbindaddress2	198.18.0.11
            Prefix 2001:0000::
            InterfaceMTU 1280
            SyslogFacility daemon
            """);
        var s = ServerConfiguration.Load(path);
        Assert.Equal(new Ipv4Address(198, 18, 0, 10), s.Engine.Primary);
        Assert.Equal(new Ipv4Address(198, 18, 0, 11), s.Engine.SecondaryAddress);
        Assert.Equal(1280u, s.Engine.Mtu);
    }

    [Fact]
    public void Secondary_defaults_to_primary_plus_one()
    {
        var s = ServerConfiguration.Load(Write("a.conf", "ServerBindAddress 198.18.0.255\nIpv6Forwarding no\n"));
        Assert.Equal(new Ipv4Address(198, 18, 1, 0), s.Engine.SecondaryAddress);
        Assert.False(s.Engine.Ipv6Forwarding);
    }

    [Theory]
    [InlineData("ServerBindAddress 198.18.0.10\nRelayType relay\n", "a.conf:2: unknown directive 'RelayType'")]
    [InlineData("ServerBindAddress 198.18.0\n", "a.conf:1: ServerBindAddress wants an IPv4 address")]
    [InlineData("# nothing\n", "ServerBindAddress (the primary IPv4 address) is required")]
    [InlineData("ServerBindAddress 198.18.0.10\nInterfaceMTU 100\n", "a.conf:2: InterfaceMTU wants a number from 1280")]
    [InlineData("ServerBindAddress 198.18.0.10\nPrefix 2001:db8:1::\n", "a.conf:2: Prefix wants a /32")]
    [InlineData("ServerBindAddress 198.18.0.10\nRequireAuthentication maybe\n", "a.conf:2: RequireAuthentication wants yes or no")]
    [InlineData("ServerBindAddress 198.18.0.10\nRequireAuthentication yes\n", "needs a ClientSecretsFile")]
    public void Errors_name_the_file_and_line(string text, string message)
    {
        var e = Assert.Throws<ConfigException>(() => ServerConfiguration.Load(Write("a.conf", text)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Command_line_overrides_the_file()
    {
        string path = Write("a.conf", "ServerBindAddress 198.18.0.10\nThreads 4\n");
        var s = ServerConfiguration.Load(path, o => { o["ServerBindAddress"] = "198.18.5.1"; o["Threads"] = "1"; });
        Assert.Equal(new Ipv4Address(198, 18, 5, 1), s.Engine.Primary);
        Assert.Equal(1, s.Threads);
    }

    [Fact]
    public void Client_secrets_file_enables_secure_qualification()
    {
        string secrets = Write("secrets", "# id secret\nalice s3cret\nbob   another one\n");
        var s = ServerConfiguration.Load(Write("a.conf", $"ServerBindAddress 198.18.0.10\nRequireAuthentication yes\nClientSecretsFile {secrets}\n"));
        Assert.True(s.Engine.RequireAuthentication);
        Assert.Equal("s3cret"u8.ToArray(), s.Engine.ClientSecrets["alice"]);
        Assert.Equal("another one"u8.ToArray(), s.Engine.ClientSecrets["bob"]);
    }

    [Theory]
    [InlineData("", true, true)]
    [InlineData("Ipv6Forwarding auto\n", false, false)]
    [InlineData("Ipv6Forwarding no\n", true, false)]
    [InlineData("Ipv6Forwarding yes\n", false, true)]
    public void Ipv6Forwarding_auto_follows_the_host_s_native_IPv6_read_at_start(string directive, bool hostHasIpv6, bool expected)
    {
        var parsed = ServerConfiguration.Load(Write("f.conf", "ServerBindAddress 198.18.0.10\n" + directive));
        Assert.Equal(expected, HostResolution.Resolve(parsed, hostHasIpv6).Engine.Ipv6Forwarding);
    }
}
