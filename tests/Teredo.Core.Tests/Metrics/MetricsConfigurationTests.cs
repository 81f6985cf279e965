using System.Net;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Metrics;
using Teredo.Tests.Support;

namespace Teredo.Tests.Metrics;

/// <summary>The --metrics value and the Metrics directive of every role's configuration file.</summary>
public sealed class MetricsConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("127.0.0.1:9437", "127.0.0.1", 9437)]
    [InlineData("0.0.0.0:9100", "0.0.0.0", 9100)]
    [InlineData("[::1]:9437", "::1", 9437)]
    [InlineData("[2001:db8::5]:80", "2001:db8::5", 80)]
    [InlineData("localhost:9437", "127.0.0.1", 9437)]
    public void Parses_address_and_port(string text, string address, int port)
    {
        Assert.True(MetricsEndpoint.TryParse(text, out var e, out string error), error);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), e);
    }

    [Theory]
    [InlineData("9437")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("::1:9437")]
    [InlineData("metrics.example:9437")]
    public void Refuses_anything_else(string text) => Assert.False(MetricsEndpoint.TryParse(text, out _, out _));

    [Fact]
    public void Every_role_reads_the_Metrics_directive_and_defaults_to_none()
    {
        var expected = new IPEndPoint(IPAddress.Loopback, 9437);
        Assert.Equal(expected, RelayConfiguration.Load(_dir.Write("relay.conf", "RelayType relay\nMetrics 127.0.0.1:9437\n")).Metrics);
        Assert.Equal(expected, ServerConfiguration.Load(_dir.Write("server.conf", "ServerBindAddress 198.18.0.10\nMetrics 127.0.0.1:9437\n")).Metrics);
        Assert.Equal(expected, ClientConfiguration.Load(_dir.Write("client.conf", "ServerAddress 198.18.0.10\nMetrics 127.0.0.1:9437\n")).Metrics);
        Assert.Null(RelayConfiguration.Load(_dir.Write("plain.conf", "RelayType relay\n")).Metrics);
        Assert.Null(RelayConfiguration.Load(_dir.Write("none.conf", "RelayType relay\nMetrics none\n")).Metrics);
        // The command line lays over the file, as for every directive.
        var overridden = RelayConfiguration.Load(_dir.Write("o.conf", "Metrics 127.0.0.1:9437\n"), o => o["Metrics"] = "[::1]:9500");
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 9500), overridden.Metrics);
    }

    [Fact]
    public void Tayga_conf_takes_a_metrics_line()
    {
        var s = Nat64Configuration.Parse("""
            tun-device nat64
            ipv4-addr 192.168.255.1
            prefix 64:ff9b::/96
            metrics 127.0.0.1:9438
            """, "tayga.conf");
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9438), s.Metrics);
    }

    [Fact]
    public void A_bad_value_is_an_error_with_file_and_line()
    {
        string path = _dir.Write("bad.conf", "RelayType relay\n\nMetrics 9437\n");
        var e = Assert.Throws<ConfigException>(() => RelayConfiguration.Load(path));
        Assert.StartsWith($"{path}:3: Metrics wants ADDR:PORT", e.Message);
        var cli = Assert.Throws<ConfigException>(() => RelayConfiguration.Load(null, o => o["Metrics"] = "host:x"));
        Assert.StartsWith("command line: Metrics", cli.Message);
    }
}
