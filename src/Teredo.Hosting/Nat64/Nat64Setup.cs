using Teredo.Hosting.Configuration;
using Teredo.Nat64;

namespace Teredo.Hosting.Nat64;

/// <summary>
/// Turns tayga.conf settings into the core translator: options, the address map with every map line
/// and the dynamic pool. Rejections by the core (overlapping maps, a pool size it does not take) become
/// configuration errors naming the line, as Tayga reports them.
/// </summary>
public static class Nat64Setup
{
    public static Nat64Options Options(Nat64HostSettings settings, int ipv4Mtu) => new()
    {
        // Without `prefix` Tayga maps through map lines only; the core always has a pool6, so the
        // well-known prefix (strictly limited to global IPv4) stands in (docs/nat64.md, deviations).
        Prefix = settings.Prefix ?? Addressing.Ipv4EmbeddedIpv6.WellKnownPrefix,
        PrefixLength = settings.Prefix is null ? 96 : settings.PrefixLength,
        WellKnownPrefixStrict = settings.Prefix is null || settings.WellKnownPrefixStrict,
        UdpChecksumMode = settings.UdpChecksumMode,
        OfflinkMtu = settings.OfflinkMtu,
        Ipv4Mtu = ipv4Mtu,
        TranslatorIpv4 = settings.Ipv4Address,
        TranslatorIpv6 = settings.TranslatorIpv6,
    };

    public static Nat64Translator Translator(Nat64HostSettings settings, int ipv4Mtu)
    {
        Nat64Options options = Options(settings, ipv4Mtu);
        Nat64AddressMap map;
        try { map = new Nat64AddressMap(options); }
        catch (ArgumentException e) { throw new ConfigException($"tayga.conf: {e.Message}"); }
        foreach (var m in settings.Maps)
        {
            if (settings.Prefix is { } prefix && (m.Ipv6.IsIn(prefix, settings.PrefixLength) || prefix.IsIn(m.Ipv6, m.Ipv6Length)))
                throw new ConfigException($"{m.Where}: map {m.Ipv6}/{m.Ipv6Length} overlaps the prefix {prefix}/{settings.PrefixLength} (tayga.conf(5): must not)");
            try { map.AddExplicit(m.Ipv4, m.Ipv4Length, m.Ipv6, m.Ipv6Length); }
            catch (ArgumentException e) { throw new ConfigException($"{m.Where}: map {m.Ipv4}/{m.Ipv4Length} {m.Ipv6}/{m.Ipv6Length}: {e.Message}"); }
        }
        if (settings.DynamicPool is { } pool)
        {
            try { map.SetDynamicPool(pool, settings.DynamicPoolLength); }
            catch (ArgumentException e) { throw new ConfigException($"dynamic-pool {pool}/{settings.DynamicPoolLength}: {e.Message}"); }
        }
        return new Nat64Translator(options, map);
    }
}
