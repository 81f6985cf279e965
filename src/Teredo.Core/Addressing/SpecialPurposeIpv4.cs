using Teredo.Net;

namespace Teredo.Addressing;

/// <summary>
/// The IPv4 special-purpose registry (RFC 6890 and its updates) plus multicast and reserved space: what a
/// NAT64 translator must not treat as a reachable Internet destination (RFC 6052 §3.1). Stricter than the
/// Teredo test on purpose.
/// </summary>
public static class SpecialPurposeIpv4
{
    public readonly record struct Range(Ipv4Address Network, int Length, string Name);

    public static readonly IReadOnlyList<Range> Ranges =
    [
        new(new(0, 0, 0, 0), 8, "this network"),
        new(new(10, 0, 0, 0), 8, "private-use"),
        new(new(100, 64, 0, 0), 10, "shared address space"),
        new(new(127, 0, 0, 0), 8, "loopback"),
        new(new(169, 254, 0, 0), 16, "link local"),
        new(new(172, 16, 0, 0), 12, "private-use"),
        new(new(192, 0, 0, 0), 24, "IETF protocol assignments"),
        new(new(192, 0, 2, 0), 24, "documentation (TEST-NET-1)"),
        new(new(192, 88, 99, 0), 24, "6to4 relay anycast"),
        new(new(192, 168, 0, 0), 16, "private-use"),
        new(new(198, 18, 0, 0), 15, "benchmarking"),
        new(new(198, 51, 100, 0), 24, "documentation (TEST-NET-2)"),
        new(new(203, 0, 113, 0), 24, "documentation (TEST-NET-3)"),
        new(new(224, 0, 0, 0), 4, "multicast"),
        new(new(240, 0, 0, 0), 4, "reserved"),
        new(new(255, 255, 255, 255), 32, "limited broadcast"),
    ];

    /// <summary>The special-purpose range containing <paramref name="address"/>, or null for an ordinary global address.</summary>
    public static Range? Find(Ipv4Address address)
    {
        // An index loop: foreach over the IReadOnlyList would box its enumerator on every packet.
        for (int i = 0; i < Ranges.Count; i++)
            if (address.IsIn(Ranges[i].Network, Ranges[i].Length)) return Ranges[i];
        return null;
    }

    public static bool IsSpecial(Ipv4Address address) => Find(address) is not null;
}
