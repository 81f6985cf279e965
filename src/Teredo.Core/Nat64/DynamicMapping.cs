using Teredo.Net;

namespace Teredo.Nat64;

/// <summary>One dynamic-pool lease: the IPv6 host, the IPv4 pool address it got, when it last sent or received.</summary>
public readonly record struct DynamicMapping(Ipv4Address V4, Ipv6Address V6, long LastUseMs);
