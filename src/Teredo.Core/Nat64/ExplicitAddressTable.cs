using Teredo.Net;

namespace Teredo.Nat64;

/// <summary>
/// The EAM table (RFC 7757). Entries are few (configured by hand), so lookups scan an array kept sorted by
/// prefix length, longest first, without allocating; overlapping entries are refused when added.
/// </summary>
internal sealed class ExplicitAddressTable
{
    private ExplicitMapping[] _by4 = [];
    private ExplicitMapping[] _by6 = [];

    public IReadOnlyList<ExplicitMapping> Entries => _by4;

    public void Add(ExplicitMapping m)
    {
        if (m.V4Length is < 0 or > 32) throw new ArgumentException($"{m}: IPv4 length must be 0..32");
        if (m.V6Length is < 0 or > 128) throw new ArgumentException($"{m}: IPv6 length must be 0..128");
        if (128 - m.V6Length < 32 - m.V4Length)
            throw new ArgumentException($"{m}: the IPv6 prefix leaves fewer suffix bits than the IPv4 one (RFC 7757 §3.2)");
        if (!m.V4.IsIn(Mask4(m.V4, m.V4Length), 32)) throw new ArgumentException($"{m}: IPv4 address has host bits set");
        if (!m.V6.IsIn(Mask6(m.V6, m.V6Length), 128)) throw new ArgumentException($"{m}: IPv6 address has host bits set");
        foreach (var e in _by4)
        {
            if (m.V4.IsIn(e.V4, Math.Min(e.V4Length, m.V4Length)))
                throw new ArgumentException($"{m} overlaps {e} on the IPv4 side");
            if (m.V6.IsIn(e.V6, Math.Min(e.V6Length, m.V6Length)))
                throw new ArgumentException($"{m} overlaps {e} on the IPv6 side");
        }
        // Sorted copies replace the arrays whole, so a translator on another thread never sees half an update.
        ExplicitMapping[] by4 = [.. _by4, m];
        Array.Sort(by4, (a, b) => b.V4Length.CompareTo(a.V4Length));
        ExplicitMapping[] by6 = [.. _by6, m];
        Array.Sort(by6, (a, b) => b.V6Length.CompareTo(a.V6Length));
        _by4 = by4;
        _by6 = by6;
    }

    public bool TryMap4To6(Ipv4Address address, out Ipv6Address v6)
    {
        foreach (var e in _by4)
        {
            if (!address.IsIn(e.V4, e.V4Length)) continue;
            int suffixBits = e.SuffixBits;
            UInt128 suffix = suffixBits == 0 ? UInt128.Zero : (UInt128)(address.Value & (uint.MaxValue >> e.V4Length));
            // The IPv4 suffix goes right after the IPv6 prefix; any IPv6 bits after it stay zero.
            int shift = 128 - e.V6Length - suffixBits;
            v6 = new Ipv6Address(e.V6.Value | suffix << shift);
            return true;
        }
        v6 = default;
        return false;
    }

    public bool TryMap6To4(Ipv6Address address, out Ipv4Address v4)
    {
        foreach (var e in _by6)
        {
            if (!address.IsIn(e.V6, e.V6Length)) continue;
            int suffixBits = e.SuffixBits;
            int shift = 128 - e.V6Length - suffixBits;
            uint suffix = suffixBits == 0 ? 0u : (uint)(address.Value >> shift) & (uint.MaxValue >> e.V4Length);
            v4 = new Ipv4Address(e.V4.Value | suffix);
            return true;
        }
        v4 = default;
        return false;
    }

    private static Ipv4Address Mask4(Ipv4Address a, int length) =>
        new(length == 0 ? 0 : a.Value & uint.MaxValue << (32 - length));

    private static Ipv6Address Mask6(Ipv6Address a, int length) =>
        new(length == 0 ? UInt128.Zero : a.Value & UInt128.MaxValue << (128 - length));
}
