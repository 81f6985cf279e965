using Teredo.Net;

namespace Teredo.Addressing;

public enum CoordinatorAddressKind
{
    /// <summary>Embedded IPv4 = a public destination, suffix 0: leased to an IPv4 peer on demand.</summary>
    Dynamic,
    /// <summary>Embedded IPv4 = an IPv4 peer's RFC 1918 address, suffix = the identifier the coordinator gave it.</summary>
    Static,
}

/// <summary>
/// An address inside a coordinator's /64 under the P2P NAT64 plan (DESIGN.md §B.1): 2001:0000 | S | u=0 |
/// embedded IPv4 | 24-bit suffix, i.e. RFC 6052's /64 format under the coordinator's Teredo /64. A Teredo
/// relay reads the same bits as a Teredo address whose flags are 0x00 | D[0] (cone bit clear).
/// </summary>
public readonly record struct CoordinatorAddress(Ipv4Address Coordinator, Ipv4Address Embedded, uint Suffix)
{
    public const int PrefixLength = 64;
    public const uint MaxSuffix = 0xFF_FFFF;

    public CoordinatorAddressKind Kind => Suffix == 0 ? CoordinatorAddressKind.Dynamic : CoordinatorAddressKind.Static;

    /// <summary>The coordinator's /64: the Teredo service prefix followed by its public IPv4 address.</summary>
    public static Ipv6Address Prefix(Ipv4Address coordinator) =>
        new((TeredoAddress.ServicePrefix.Upper & 0xFFFF_FFFF_0000_0000) | coordinator.Value, 0);

    public static CoordinatorAddress Dynamic(Ipv4Address coordinator, Ipv4Address destination) => new(coordinator, destination, 0);

    public static CoordinatorAddress Static(Ipv4Address coordinator, Ipv4Address peerPrivateAddress, uint identifier)
    {
        if (identifier is 0 or > MaxSuffix) throw new ArgumentOutOfRangeException(nameof(identifier), "1..2^24-1");
        if (!Ipv4Classification.IsRfc1918(peerPrivateAddress))
            throw new ArgumentException("a static address embeds the peer's RFC 1918 address", nameof(peerPrivateAddress));
        return new(coordinator, peerPrivateAddress, identifier);
    }

    public Ipv6Address ToIpv6() => Ipv4EmbeddedIpv6.Embed(Prefix(Coordinator), PrefixLength, Embedded, Suffix);

    /// <summary>
    /// Reads an address of the plan: in 2001::/32 with the u octet (bits 64-71) zero. A non-zero suffix is a
    /// static address only when the embedded IPv4 is RFC 1918; otherwise <paramref name="reason"/> says why not.
    /// </summary>
    public static bool TryParse(Ipv6Address address, out CoordinatorAddress result, out string? reason)
    {
        result = default;
        reason = null;
        if (!TeredoAddress.IsTeredo(address)) { reason = "outside 2001::/32"; return false; }
        if (!Ipv4EmbeddedIpv6.TryExtract(address, PrefixLength, out var embedded, out ulong suffix))
        {
            reason = "bits 64-71 (the RFC 6052 u octet) are not zero";
            return false;
        }
        var parsed = new CoordinatorAddress(new Ipv4Address((uint)address.Upper), embedded, (uint)suffix);
        if (parsed.Kind == CoordinatorAddressKind.Static && !Ipv4Classification.IsRfc1918(embedded))
        {
            reason = "non-zero suffix but the embedded IPv4 is not an RFC 1918 address";
            return false;
        }
        result = parsed;
        return true;
    }

    public override string ToString() => ToIpv6().ToString();
}
