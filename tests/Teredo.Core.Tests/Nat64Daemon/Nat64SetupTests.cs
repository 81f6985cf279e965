using Teredo.Hosting.Configuration;
using Teredo.Hosting.Nat64;
using Teredo.Net;

namespace Teredo.Tests.Nat64Daemon;

public class Nat64SetupTests
{
    private static Nat64HostSettings Settings(string extra) =>
        Nat64Configuration.Parse("tun-device nat64\nipv4-addr 192.168.255.1\nprefix 2001:db8:64::/96\n" + extra, "tayga.conf");

    [Fact]
    public void Maps_prefix_and_pool_reach_the_translator()
    {
        var t = Nat64Setup.Translator(Settings("map 192.0.2.7 2001:db8:7::7\ndynamic-pool 192.168.255.0/24\n"), ipv4Mtu: 1500);
        Assert.True(t.Map.TryMapIpv4Source(new Ipv4Address(192, 0, 2, 7), out var v6));
        Assert.Equal(Ipv6Address.Parse("2001:db8:7::7"), v6);
        Assert.True(t.Map.TryMapIpv6Destination(Ipv6Address.Parse("2001:db8:64::c612:64"), out var v4));
        Assert.Equal(new Ipv4Address(198, 18, 0, 100), v4);
        Assert.Equal((new Ipv4Address(192, 168, 255, 0), 24), t.Map.DynamicPoolRange);
        Assert.True(t.Map.TryMapIpv6Source(1000, Ipv6Address.Parse("2001:db8:6::100"), out var leased));
        Assert.True(leased.IsIn(new Ipv4Address(192, 168, 255, 0), 24));
        Assert.NotEqual(new Ipv4Address(192, 168, 255, 1), leased);
    }

    [Fact]
    public void The_translator_uses_taygas_addresses_and_the_tun_mtu()
    {
        var o = Nat64Setup.Options(Settings("udp-cksum-mode fwd\nofflink-mtu 1400\n"), ipv4Mtu: 1480);
        Assert.Equal(new Ipv4Address(192, 168, 255, 1), o.TranslatorIpv4);
        Assert.Equal(Ipv6Address.Parse("2001:db8:64::c0a8:ff01"), o.TranslatorIpv6);
        Assert.Equal(1480, o.Ipv4Mtu);
        Assert.Equal(1400, o.OfflinkMtu);
        Assert.Equal(Teredo.Nat64.UdpChecksumMode.Forward, o.UdpChecksumMode);
    }

    [Fact]
    public void A_map_inside_the_prefix_is_refused_with_its_line()
    {
        var e = Assert.Throws<ConfigException>(() => Nat64Setup.Translator(Settings("map 192.0.2.7 2001:db8:64::7\n"), 1500));
        Assert.Contains("tayga.conf:4: map", e.Message);
        Assert.Contains("overlaps the prefix", e.Message);
    }

    [Fact]
    public void Overlapping_maps_are_refused_with_the_later_line()
    {
        var e = Assert.Throws<ConfigException>(() => Nat64Setup.Translator(Settings("map 192.0.2.7 2001:db8:7::7\nmap 192.0.2.7 2001:db8:7::8\n"), 1500));
        Assert.Contains("tayga.conf:5: map 192.0.2.7/32", e.Message);
    }
}
