using Teredo.Addressing;
using Teredo.Nat64;
using Teredo.Net;

namespace Teredo.Tests.Nat64;

public class Nat64AddressMapTests
{
    private static Nat64AddressMap Map(string prefix, int length, bool strict = true) =>
        new(new Nat64Options { Prefix = Ipv6Address.Parse(prefix), PrefixLength = length, WellKnownPrefixStrict = strict });

    /// <summary>RFC 6052 §2.4, the table of examples: 192.0.2.33 under each prefix length, the u octet skipped.</summary>
    [Theory]
    [MemberData(nameof(Tests.Addressing.Ipv4EmbeddedIpv6Tests.Rfc6052Examples), MemberType = typeof(Tests.Addressing.Ipv4EmbeddedIpv6Tests))]
    public void Rfc6052_examples_map_both_ways(string prefix, int length, string expected)
    {
        var map = Map(prefix, length, strict: false);
        var v4 = Ipv4Address.Parse("192.0.2.33");
        Assert.True(map.TryMapIpv4Source(v4, out var v6));
        Assert.Equal(Ipv6Address.Parse(expected), v6);
        Assert.Equal(Ipv4EmbeddedIpv6.Embed(Ipv6Address.Parse(prefix), length, v4), v6);
        Assert.True(map.TryMapIpv6Destination(v6, out var back));
        Assert.Equal(v4, back);
    }

    [Theory]
    [InlineData(32)]
    [InlineData(40)]
    [InlineData(48)]
    [InlineData(56)]
    [InlineData(64)]
    public void A_non_zero_u_octet_does_not_map(int length)
    {
        var map = Map("2001:db8::", length);
        Assert.True(map.TryMapIpv4Source(Ipv4Address.Parse("203.0.113.5"), out var v6));
        var bytes = new byte[16];
        v6.Write(bytes);
        bytes[8] = 1;
        Assert.False(map.TryMapIpv6Destination(Ipv6Address.Read(bytes), out _));
    }

    [Fact]
    public void The_well_known_prefix_refuses_non_global_ipv4_when_strict()
    {
        var map = Map("64:ff9b::", 96);
        Assert.False(map.TryMapIpv4Source(Ipv4Address.Parse("192.168.1.1"), out _));
        Assert.False(map.TryMapIpv6Destination(Ipv6Address.Parse("64:ff9b::10.0.0.1"), out _));
        Assert.True(map.TryMapIpv6Destination(Ipv6Address.Parse("64:ff9b::8.8.8.8"), out var global));
        Assert.Equal(Ipv4Address.Parse("8.8.8.8"), global);
    }

    [Fact]
    public void Explicit_mappings_win_over_pool6_at_any_lengths()
    {
        var map = Map("64:ff9b::", 96);
        map.AddExplicit(Ipv4Address.Parse("192.0.2.7"), 32, Ipv6Address.Parse("2001:db8::7"), 128);
        map.AddExplicit(Ipv4Address.Parse("198.51.100.0"), 24, Ipv6Address.Parse("2001:db8:1::"), 120);
        // RFC 7757 §3.2: the 8-bit IPv4 suffix goes right after a /104, the rest of the IPv6 suffix is zero.
        map.AddExplicit(Ipv4Address.Parse("203.0.113.0"), 24, Ipv6Address.Parse("2001:db8:2::"), 104);

        Assert.True(map.TryMapIpv6Source(0, Ipv6Address.Parse("2001:db8::7"), out var a));
        Assert.Equal(Ipv4Address.Parse("192.0.2.7"), a);
        Assert.True(map.TryMapIpv4Destination(0, Ipv4Address.Parse("198.51.100.200"), out var b));
        Assert.Equal(Ipv6Address.Parse("2001:db8:1::c8"), b);
        Assert.True(map.TryMapIpv4Source(Ipv4Address.Parse("203.0.113.9"), out var c));
        Assert.Equal(Ipv6Address.Parse("2001:db8:2::9:0"), c); // bits 104-111
        Assert.True(map.TryMapIpv6Destination(c, out var d));
        Assert.Equal(Ipv4Address.Parse("203.0.113.9"), d);
        Assert.Equal(3, map.ExplicitMappings.Count);
    }

    [Theory]
    [InlineData("192.0.2.0", 24, "2001:db8:9::", 120)]   // IPv4 side overlaps
    [InlineData("10.0.0.0", 8, "2001:db8:9::", 104)]      // contains the existing one
    [InlineData("198.51.100.0", 24, "2001:db8::7", 128)] // IPv6 side overlaps
    public void Overlapping_explicit_mappings_are_refused(string v4, int v4Length, string v6, int v6Length)
    {
        var map = Map("64:ff9b::", 96);
        map.AddExplicit(Ipv4Address.Parse("192.0.2.7"), 32, Ipv6Address.Parse("2001:db8::7"), 128);
        map.AddExplicit(Ipv4Address.Parse("10.1.0.0"), 16, Ipv6Address.Parse("2001:db8:10::"), 112);
        Assert.Throws<ArgumentException>(() => map.AddExplicit(Ipv4Address.Parse(v4), v4Length, Ipv6Address.Parse(v6), v6Length));
    }

    [Fact]
    public void An_ipv6_prefix_with_fewer_suffix_bits_than_the_ipv4_one_is_refused() =>
        Assert.Throws<ArgumentException>(() => Map("64:ff9b::", 96)
            .AddExplicit(Ipv4Address.Parse("10.0.0.0"), 16, Ipv6Address.Parse("2001:db8::"), 120));

    private static Nat64AddressMap Pool(int capacity, long leaseMs = 1000)
    {
        var map = new Nat64AddressMap(new Nat64Options { Prefix = Ipv6Address.Parse("2001:db8:64::"), TranslatorIpv4 = Ipv4Address.Parse("198.18.0.1") });
        map.SetDynamicPool(Ipv4Address.Parse("198.18.0.0"), 29, leaseMs, capacity);
        return map;
    }

    private static Ipv6Address Host(int i) => new(0x2001_0db8_0077_0000, (ulong)i);

    [Fact]
    public void The_dynamic_pool_skips_network_broadcast_and_translator_and_is_bounded()
    {
        var map = Pool(capacity: 100);
        var leased = new List<Ipv4Address>();
        for (int i = 1; i <= 6; i++)
        {
            bool ok = map.TryMapIpv6Source(0, Host(i), out var v4);
            if (i <= 5) leased.Add(v4);
            Assert.Equal(i <= 5, ok); // a /29 has .1-.6 as hosts; .1 is the translator
        }
        Assert.Equal(["198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5", "198.18.0.6"], leased.Select(a => a.ToString()));
        Assert.True(map.TryMapIpv6Source(500, Host(3), out var again)); // a known host keeps its address
        Assert.Equal(leased[2], again);
        Assert.True(map.TryMapIpv4Destination(600, leased[4], out var back));
        Assert.Equal(Host(5), back);
    }

    [Fact]
    public void Capacity_bounds_the_leases_and_expired_ones_are_reclaimed_oldest_first()
    {
        var map = Pool(capacity: 2, leaseMs: 1000);
        Assert.True(map.TryMapIpv6Source(0, Host(1), out _));
        Assert.True(map.TryMapIpv6Source(100, Host(2), out var second));
        Assert.False(map.TryMapIpv6Source(500, Host(3), out _));      // full, nothing expired
        Assert.True(map.TryMapIpv6Source(1050, Host(3), out var third)); // host 1 expired at 1000
        Assert.False(map.TryMapIpv6Destination(Host(1), out _));
        Assert.NotEqual(second, third);
        Assert.Equal(2, map.DynamicCount);
    }

    [Fact]
    public void Dynamic_leases_export_and_import_without_io()
    {
        var map = Pool(capacity: 10, leaseMs: 10_000);
        Assert.False(map.DynamicChangedSinceExport);
        map.TryMapIpv6Source(100, Host(1), out var a);
        map.TryMapIpv6Source(200, Host(2), out var b);
        Assert.True(map.DynamicChangedSinceExport);
        var saved = map.ExportDynamic(300);
        Assert.False(map.DynamicChangedSinceExport);
        Assert.Equal([new DynamicMapping(a, Host(1), 100), new DynamicMapping(b, Host(2), 200)], saved);

        var restored = Pool(capacity: 10, leaseMs: 10_000);
        restored.ImportDynamic([.. saved, new DynamicMapping(Ipv4Address.Parse("8.8.8.8"), Host(9), 200), new DynamicMapping(Ipv4Address.Parse("198.18.0.5"), Host(8), -50_000)], 400);
        Assert.Equal(2, restored.DynamicCount); // outside the pool and expired entries are skipped
        Assert.True(restored.TryMapIpv4Destination(500, b, out var host));
        Assert.Equal(Host(2), host);
        Assert.True(restored.TryMapIpv6Source(500, Host(3), out var c));
        Assert.NotEqual(a, c);
        Assert.NotEqual(b, c);
        Assert.Empty(Pool(1, 1000).ExportDynamic(0));
    }

    [Fact]
    public void Options_validate()
    {
        Assert.Throws<ArgumentException>(() => new Nat64Options { PrefixLength = 80 }.Validate());
        Assert.Throws<ArgumentException>(() => new Nat64Options { Prefix = Ipv6Address.Parse("2001:db8:0:0:ff00::"), PrefixLength = 64 }.Validate());
        Assert.Throws<ArgumentException>(() => new Nat64Options { Prefix = Ipv6Address.Parse("2001:db8::1"), PrefixLength = 96 }.Validate());
        Assert.Throws<ArgumentException>(() => new Nat64Options { OfflinkMtu = 1000 }.Validate());
        new Nat64Options { OfflinkMtu = 0 }.Validate();
        Assert.Equal(1280, new Nat64Options { OfflinkMtu = 0 }.EffectiveOfflinkMtu);
    }

    [Fact]
    public void Translators_on_several_threads_share_one_dynamic_pool()
    {
        var map = new Nat64AddressMap(new Nat64Options { Prefix = Ipv6Address.Parse("2001:db8:64::") });
        map.SetDynamicPool(Ipv4Address.Parse("198.18.0.0"), 16);
        var leases = new Ipv4Address[4][];
        Parallel.For(0, 4, thread =>
        {
            leases[thread] = new Ipv4Address[2000];
            for (int i = 0; i < 2000; i++)
            {
                Assert.True(map.TryMapIpv6Source(i, Host(thread * 10_000 + i), out leases[thread][i]));
                Assert.True(map.TryMapIpv4Destination(i, leases[thread][i], out var back));
                Assert.Equal(Host(thread * 10_000 + i), back);
            }
        });
        Assert.Equal(8000, leases.SelectMany(l => l).Distinct().Count());
        Assert.Equal(8000, map.DynamicCount);
    }
}
