using Teredo.Hosting.Configuration;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Tests.Support;

namespace Teredo.Tests.Nat64Daemon;

public class Nat64ConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string Write(string text) => _dir.Write("tayga.conf", text);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reads_debians_example_tayga_conf_unchanged()
    {
        // The directives of /usr/share/doc/tayga/tayga.conf.example (0.9.2), uncommented as a user would.
        var s = Nat64Configuration.Load(Write("""
            #
            # Sample configuration file for TAYGA 0.9.2
            #
            tun-device nat64
            ipv4-addr 192.168.255.1
            prefix 2001:db8:1:ffff::/96
            dynamic-pool 192.168.255.0/24
            data-dir /var/spool/tayga
            strict-frag-hdr 1
            map 192.168.5.42 2001:db8:1:4444::1
            map 192.168.5.43 2001:db8:1:4444::2
            """));
        Assert.Equal("nat64", s.TunDevice);
        Assert.Equal(new Ipv4Address(192, 168, 255, 1), s.Ipv4Address);
        Assert.Null(s.Ipv6Address);
        Assert.Equal(Ipv6Address.Parse("2001:db8:1:ffff::"), s.Prefix);
        Assert.Equal(96, s.PrefixLength);
        // Tayga's rule: without ipv6-addr, ipv4-addr embedded in the prefix.
        Assert.Equal(Ipv6Address.Parse("2001:db8:1:ffff::c0a8:ff01"), s.TranslatorIpv6);
        Assert.Equal(new Ipv4Address(192, 168, 255, 0), s.DynamicPool);
        Assert.Equal(24, s.DynamicPoolLength);
        Assert.Equal("/var/spool/tayga/" + Nat64Configuration.DynamicMapFileName, s.DynamicMapFile);
        Assert.Equal(2, s.Maps.Count);
        Assert.Equal(new Nat64StaticMap(new Ipv4Address(192, 168, 5, 43), 32, Ipv6Address.Parse("2001:db8:1:4444::2"), 128, s.Maps[1].Where), s.Maps[1]);
        Assert.EndsWith("tayga.conf:11", s.Maps[1].Where);
    }

    [Fact]
    public void Reads_the_0_9_6_directives()
    {
        string mapFile = _dir.Write("extra.map", "# reloadable maps\nmap 198.51.100.0/24 2001:db8:77::/120\n");
        var s = Nat64Configuration.Load(Write($"""
            tun-device nat64
            ipv4-addr 192.0.2.1
            ipv6-addr 2001:db8::1
            prefix 64:ff9b::/96
            wkpf-strict no
            map 192.0.2.16/28 2001:db8:5::/124
            udp-cksum-mode calc
            log drop reject icmp self
            offlink-mtu 1400
            tun-up yes
            tun-ip 192.0.2.1/24
            tun-ip 2001:db8::1/64
            tun-route 64:ff9b::/96
            tun-route 192.0.2.128/25
            map-file {mapFile}
            queues 2
            control-socket /run/x/nat64.sock
            """));
        Assert.False(s.WellKnownPrefixStrict);
        Assert.Equal(Ipv6Address.Parse("2001:db8::1"), s.TranslatorIpv6);
        Assert.Equal(UdpChecksumMode.Calculate, s.UdpChecksumMode);
        Assert.Equal(Nat64PacketLog.Drop | Nat64PacketLog.Reject | Nat64PacketLog.Icmp | Nat64PacketLog.Self, s.Log);
        Assert.Equal(1400, s.OfflinkMtu);
        Assert.True(s.TunUp);
        Assert.Equal(["192.0.2.1/24", "2001:db8::1/64"], s.TunAddresses.Select(a => a.ToString()));
        Assert.Equal(["64:ff9b::/96", "192.0.2.128/25"], s.TunRoutes.Select(a => a.ToString()));
        Assert.Equal(2, s.Maps.Count);
        Assert.Equal((new Ipv4Address(198, 51, 100, 0), 24, 120), (s.Maps[1].Ipv4, s.Maps[1].Ipv4Length, s.Maps[1].Ipv6Length));
        Assert.Equal(mapFile + ":2", s.Maps[1].Where);
        Assert.Equal(2, s.Queues);
        Assert.Equal("/run/x/nat64.sock", s.ControlSocket);
    }

    [Fact]
    public void A_relative_map_file_is_found_in_data_dir()
    {
        _dir.Write("static.map", "map 192.0.2.9 2001:db8:9::9\n");
        string dataDir = Path.GetDirectoryName(Write(""))!;
        var s = Nat64Configuration.Load(Write($"tun-device t\nipv4-addr 192.0.2.1\nprefix 2001:db8:64::/96\ndata-dir {dataDir}\nmap-file static.map\n"));
        Assert.Equal(Path.Combine(dataDir, "static.map"), s.MapFile);
        Assert.Single(s.Maps);
    }

    [Fact]
    public void Defaults_are_taygas()
    {
        var s = Nat64Configuration.Load(Write("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\n"));
        Assert.True(s.WellKnownPrefixStrict);
        Assert.Equal(UdpChecksumMode.Drop, s.UdpChecksumMode);
        Assert.Equal(0, s.OfflinkMtu);
        Assert.False(s.TunUp);
        Assert.Empty(s.Maps);
        Assert.Null(s.DynamicPool);
        Assert.Equal(1, s.Queues);
        Assert.Equal(Nat64Configuration.DefaultControlSocket, s.ControlSocket);
    }

    [Theory]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nfrobnicate 1\n", "tayga.conf:4: unknown directive 'frobnicate'")]
    [InlineData("ipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\n", "tun-device is missing")]
    [InlineData("tun-device nat64\nprefix 64:ff9b::/96\n", "ipv4-addr is missing")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\n", "ipv6-addr is missing")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.300\nprefix 64:ff9b::/96\n", "tayga.conf:2: ipv4-addr wants an IPv4 address")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/80\n", "tayga.conf:3: prefix wants an RFC 6052 prefix")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 2001:db8:0:0:ff00::/64\n", "tayga.conf:3: prefix 2001:db8:0:0:ff00::/64 has bits set beyond its length")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 2001:db8:0:0:ff00::/40\n", "has bits set beyond")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nprefix 64:ff9b::/96\n", "tayga.conf:4: prefix may appear only once (first at line 3)")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nmap 192.0.2.0/24 2001:db8::/112\n", "tayga.conf:4: map 192.0.2.0/24 2001:db8::/112: both sides must leave the same number of host bits")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nmap 192.0.2.5\n", "tayga.conf:4: map wants 'IPV4[/LEN] IPV6[/LEN]'")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\ndynamic-pool 192.0.2.0/32\n", "tayga.conf:4: dynamic-pool wants an IPv4 network of length 31 or less")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nudp-cksum-mode maybe\n", "tayga.conf:4: udp-cksum-mode wants drop, fwd or calc")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nlog everything\n", "tayga.conf:4: log wants drop, reject, icmp or self, not 'everything'")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nofflink-mtu 1000\n", "tayga.conf:4: offlink-mtu below 1280")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nwkpf-strict perhaps\n", "tayga.conf:4: wkpf-strict wants yes or no")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\ntun-route nowhere\n", "tayga.conf:4: tun-route wants ADDRESS/LENGTH")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nmap-file rel.map\n", "tayga.conf:4: map-file 'rel.map' is relative but there is no data-dir")]
    [InlineData("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\ndata-dir var/tayga\n", "tayga.conf:4: data-dir wants an absolute path")]
    [InlineData("tun-device a-name-far-too-long\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\n", "tayga.conf:1: tun-device wants an interface name")]
    public void Errors_name_the_file_and_line(string text, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Nat64Configuration.Load(Write(text)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_bad_map_file_line_names_the_map_file()
    {
        string mapFile = _dir.Write("bad.map", "map 192.0.2.9 2001:db8::9\nprefix 64:ff9b::/96\n");
        var e = Assert.Throws<ConfigException>(() => Nat64Configuration.Load(Write($"tun-device t\nipv4-addr 192.0.2.1\nprefix 2001:db8:64::/96\nmap-file {mapFile}\n")));
        Assert.Contains($"{mapFile}:2: unknown directive 'prefix'", e.Message);
    }

    [Fact]
    public void Command_line_overrides_win()
    {
        var s = Nat64Configuration.Load(Write("tun-device nat64\nipv4-addr 192.0.2.1\nprefix 64:ff9b::/96\nqueues 1\n"),
            o => { o["queues"] = "3"; o["control-socket"] = "/tmp/n.sock"; });
        Assert.Equal(3, s.Queues);
        Assert.Equal("/tmp/n.sock", s.ControlSocket);
    }
}
