using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Nat64;

/// <summary>
/// The translator's address mapping, without I/O: explicit address mappings (RFC 7757, tayga <c>map</c>),
/// pool6 (RFC 6052) and a dynamic IPv4 pool that gives each new IPv6 host an address on its first packet
/// (tayga <c>dynamic-pool</c>). Lookups try the EAM table first (longest prefix), then the dynamic pool
/// for addresses inside it, then pool6. Configure it (AddExplicit, SetDynamicPool, ImportDynamic) before
/// traffic flows; after that several translators, one per thread, may share it.
/// </summary>
public sealed class Nat64AddressMap
{
    private readonly Nat64Options _options;
    private readonly ExplicitAddressTable _explicit = new();
    private DynamicPool? _dynamic;

    public Nat64AddressMap(Nat64Options options)
    {
        options.Validate();
        _options = options;
    }

    /// <summary>The explicit mappings, longest IPv4 prefix first (for status).</summary>
    public IReadOnlyList<ExplicitMapping> ExplicitMappings => _explicit.Entries;

    /// <summary>The dynamic pool's network, when one is set.</summary>
    public (Ipv4Address Network, int Length)? DynamicPoolRange => _dynamic is { } d ? (d.Network, d.Length) : null;

    /// <summary>Live dynamic leases (for status).</summary>
    public int DynamicCount => _dynamic?.Count ?? 0;

    /// <summary>
    /// Adds an explicit address mapping (RFC 7757 §3.2): the IPv4 suffix goes right after the IPv6 prefix,
    /// so the IPv6 side needs at least as many suffix bits as the IPv4 side (/128↔/32 maps one host).
    /// Throws on overlap with an existing entry on either side.
    /// </summary>
    public void AddExplicit(Ipv4Address v4, int v4Length, Ipv6Address v6, int v6Length) =>
        _explicit.Add(new ExplicitMapping(v4, v4Length, v6, v6Length));

    /// <summary>Sets the dynamic pool (tayga <c>dynamic-pool</c>, /16 or longer); the network and broadcast addresses and TranslatorIpv4 are never leased.</summary>
    public void SetDynamicPool(Ipv4Address network, int length, long leaseMs = 2 * 3600 * 1000, int capacity = 65536)
    {
        // One lease slot per pool address keeps lookups allocation-free; /16 (65536 slots) bounds that table.
        if (length is < 16 or > 32) throw new ArgumentException($"dynamic pool /{length}: must be /16 to /32", nameof(length));
        if (leaseMs <= 0) throw new ArgumentException("lease must be positive", nameof(leaseMs));
        if (capacity <= 0) throw new ArgumentException("capacity must be positive", nameof(capacity));
        _dynamic = new DynamicPool(network, length, _options.TranslatorIpv4, leaseMs, capacity);
    }

    public bool DynamicChangedSinceExport => _dynamic?.Changed ?? false;

    public IReadOnlyList<DynamicMapping> ExportDynamic(long nowMs) => _dynamic?.Export(nowMs) ?? [];

    public void ImportDynamic(IEnumerable<DynamicMapping> entries, long nowMs)
    {
        if (_dynamic is null) throw new InvalidOperationException("no dynamic pool set");
        _dynamic.Import(entries, nowMs);
    }

    /// <summary>The IPv4 source for an IPv6 host; gives it a dynamic-pool address when nothing else maps it.</summary>
    public bool TryMapIpv6Source(long nowMs, Ipv6Address src, out Ipv4Address v4) =>
        TryMapIpv6(src, out v4) || (_dynamic is { } d && d.TryLeaseFor(nowMs, src, out v4));

    public bool TryMapIpv6Destination(Ipv6Address dst, out Ipv4Address v4) => TryMapIpv6(dst, out v4);

    public bool TryMapIpv4Source(Ipv4Address src, out Ipv6Address v6) => TryMapIpv4(0, src, touch: false, out v6);

    public bool TryMapIpv4Destination(long nowMs, Ipv4Address dst, out Ipv6Address v6) => TryMapIpv4(nowMs, dst, touch: true, out v6);

    /// <summary>EAM, then pool6, then existing dynamic leases: never allocates (inner packets of ICMP errors use it too).</summary>
    internal bool TryMapIpv6(Ipv6Address address, out Ipv4Address v4)
    {
        if (_explicit.TryMap6To4(address, out v4)) return true;
        if (address.IsIn(_options.Prefix, _options.PrefixLength))
            return Ipv4EmbeddedIpv6.TryExtract(address, _options.PrefixLength, out v4, out _) && PrefixMayCarry(v4);
        if (_dynamic is { } d && d.TryFindByIpv6(address, out v4)) return true;
        v4 = default;
        return false;
    }

    public bool IsInPool6(Ipv6Address address) => address.IsIn(_options.Prefix, _options.PrefixLength);

    /// <summary>
    /// True when an IPv4 destination reached from the IPv6 side stands for an IPv6 host behind us (EAM or
    /// dynamic pool): the packet must be hairpinned back (RFC 7757 §4.2).
    /// </summary>
    internal bool TryMapHairpin(Ipv4Address destination, out Ipv6Address v6)
    {
        if (_explicit.TryMap4To6(destination, out v6)) return true;
        if (_dynamic is { } d && destination.IsIn(d.Network, d.Length)) return d.TryFindByIpv4(0, destination, false, out v6);
        v6 = default;
        return false;
    }

    /// <summary>EAM, then the dynamic pool for addresses inside it, then pool6.</summary>
    internal bool TryMapIpv4(long nowMs, Ipv4Address address, bool touch, out Ipv6Address v6)
    {
        if (_explicit.TryMap4To6(address, out v6)) return true;
        if (_dynamic is { } d && address.IsIn(d.Network, d.Length))
            return d.TryFindByIpv4(nowMs, address, touch, out v6);
        if (!PrefixMayCarry(address))
        {
            v6 = default;
            return false;
        }
        v6 = Embed(address);
        return true;
    }

    /// <summary>RFC 6052 §3.1: the Well-Known Prefix never carries a non-global IPv4 address (when strict).</summary>
    private bool PrefixMayCarry(Ipv4Address v4) =>
        !(_options.WellKnownPrefixStrict && _options.PrefixLength == 96 &&
          _options.Prefix == Ipv4EmbeddedIpv6.WellKnownPrefix && SpecialPurposeIpv4.IsSpecial(v4));

    /// <summary>The pool6 address of <paramref name="v4"/> regardless of the Well-Known Prefix rules (sources of ICMPv4 errors, RFC 7915 §4.1).</summary>
    internal Ipv6Address EmbedInPool6(Ipv4Address v4) => Embed(v4);

    /// <summary>RFC 6052 §2.2 embedding without the allocation-free helper's range checks (the length was validated).</summary>
    private Ipv6Address Embed(Ipv4Address v4)
    {
        int length = _options.PrefixLength;
        UInt128 prefix = _options.Prefix.Value;
        if (length == 96) return new Ipv6Address(prefix | v4.Value);
        // The 32 bits start at bit `length` and skip the u octet (bits 64-71): `before` bits land above it, the rest below.
        int before = 64 - length;
        int after = 32 - before;
        UInt128 high = before == 0 ? UInt128.Zero : (UInt128)(v4.Value >> after) << 64;
        UInt128 low = after == 0 ? UInt128.Zero : (UInt128)(v4.Value & (uint.MaxValue >> before)) << (56 - after);
        return new Ipv6Address(prefix | high | low);
    }
}
