using Teredo.Net;

namespace Teredo.Nat64;

/// <summary>One explicit address mapping (RFC 7757): an IPv4 prefix and the IPv6 prefix it stands for.</summary>
public readonly record struct ExplicitMapping(Ipv4Address V4, int V4Length, Ipv6Address V6, int V6Length)
{
    public int SuffixBits => 32 - V4Length;

    public override string ToString() => $"{V4}/{V4Length} {V6}/{V6Length}";
}
