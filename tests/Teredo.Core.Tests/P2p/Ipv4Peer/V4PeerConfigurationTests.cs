using Teredo.Hosting.Configuration;
using Teredo.Hosting.Ipv4Peer;
using Teredo.Net;
using Teredo.P2p.Coordinator;
using Teredo.Tests.Support;

namespace Teredo.Tests.P2p.Ipv4Peer;

public sealed class V4PeerConfigurationTests : IDisposable
{
    private const string Pin = "3A:A2:D4:15:82:6D:81:95:F0:B0:29:24:B0:44:3F:D0:C7:37:53:8F:BB:62:BA:E6:D9:B5:DD:BF:9A:80:C3:18";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Directive_file_with_every_option()
    {
        var s = V4PeerConfiguration.Load(_dir.Write("v4peer.conf", $"""
            # a donor
            Coordinator coord.example.net:4433
            Pin {Pin}
            Token secret
            Pool 10.77.0.0/24
            Interface v4p0
            StateDirectory /tmp/v4p
            ControlSocket /tmp/v4p.sock
            AllowDestination 198.18.0.0/15
            RateLimit 12.5
            MaxFlowsPerSource 64
            """), extraAllowDestinations: ["100.64.0.0/10"]);
        Assert.Equal("coord.example.net", s.CoordinatorHost);
        Assert.Equal(4433, s.CoordinatorPort);
        Assert.Equal(32, s.Pin!.Length);
        Assert.Equal("secret", s.Token);
        Assert.Equal(new Ipv4Prefix(new Ipv4Address(10, 77, 0, 0), 24), s.Pool);
        Assert.Equal("v4p0", s.InterfaceName);
        Assert.Equal(12.5, s.RateLimitMbit);
        Assert.Equal(64, s.MaxFlowsPerSource);
        Assert.Equal(["198.18.0.0/15", "100.64.0.0/10"], s.AllowDestinations.Select(a => a.ToString()));
        Assert.Equal(3544, V4PeerConfiguration.Load(null, o => o["Coordinator"] = "192.0.2.1").CoordinatorPort);
    }

    [Theory]
    [InlineData("Pool 10.0.0.0/8", "Pool")]
    [InlineData("Pin 1234", "Pin")]
    [InlineData("RateLimit fast", "RateLimit")]
    [InlineData("Bogus 1", "Bogus")]
    public void Bad_directives_are_errors_with_their_line(string line, string named)
    {
        string path = _dir.Write("bad.conf", "Coordinator 192.0.2.1\n" + line + "\n");
        var e = Assert.Throws<ConfigException>(() => V4PeerConfiguration.Load(path));
        Assert.Contains(named, e.Message);
        Assert.Contains(":2", e.Message);
    }

    [Fact]
    public void The_coordinator_is_required() =>
        Assert.Contains("Coordinator", Assert.Throws<ConfigException>(() => V4PeerConfiguration.Load(_dir.Write("empty.conf", "Token x\n"))).Message);

    [Fact]
    public void Nftables_script_forwards_only_the_tun_refuses_non_global_and_admits_the_pool_to_the_host_only()
    {
        var plan = new NftablesPlan("teredo_v4peer_t", "t", new Ipv4Prefix(new Ipv4Address(10, 255, 46, 0), 24), new Ipv4Address(10, 3, 0, 2),
            [new Ipv4Prefix(new Ipv4Address(198, 18, 0, 0), 15)], 1024, 1220, ForwardingWasOff: true);
        string script = NftablesTable.Script(plan);
        Assert.Contains("policy drop;", script);
        Assert.Contains("iifname \"t\" ip saddr != 10.255.46.0/24 drop", script);
        Assert.Contains("iifname \"t\" ip daddr { 198.18.0.0/15 } goto admitted", script);
        Assert.Contains("reject with icmp type admin-prohibited", script);
        Assert.Contains("ct count over 1024", script);
        Assert.Contains("iifname \"t\" ip saddr 10.255.46.0/24 ip daddr 10.3.0.2 accept\n    iifname \"t\" drop", script);
        Assert.Contains("ip saddr 10.255.46.0/24 oifname != \"t\" masquerade", script);
        Assert.Contains("tcp option maxseg size set 1220", script);
        // nft refuses overlapping elements: 255.255.255.255 lies inside 240.0.0.0/4.
        Assert.DoesNotContain("255.255.255.255", NftablesTable.NonGlobalRanges());
        Assert.Contains("10.0.0.0/8", NftablesTable.NonGlobalRanges());
        Assert.Contains("policy accept;", NftablesTable.Script(plan with { ForwardingWasOff = false }));
    }

    [Theory]
    [InlineData("10.255.46.0/24 dev teredo-v4peer proto kernel scope link src 10.255.46.1", false)]
    [InlineData("10.255.0.0/16 via 10.3.0.1 dev eth0", true)]
    [InlineData("default via 10.3.0.1 dev eth0", false)]
    [InlineData("local 10.255.46.7 dev lo table local proto kernel scope host src 10.255.46.7", true)]
    [InlineData("10.3.0.0/24 dev eth0 proto kernel scope link src 10.3.0.2", false)]
    public void Pool_check_against_the_hosts_routes(string route, bool conflicts) =>
        Assert.Equal(conflicts, HostNetwork.Overlaps(route, new Ipv4Prefix(new Ipv4Address(10, 255, 46, 0), 24), "teredo-v4peer"));
}
