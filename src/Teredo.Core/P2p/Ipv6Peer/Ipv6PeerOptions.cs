using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.P2p.Ipv6Peer;

/// <summary>
/// The IPv6 peer's data path settings (DESIGN.md §B.4): its NAT64 prefix N, the NAT66 pool its clients are
/// mapped into, the coordinators whose /64s it forwards into, who it serves, and the health rules.
/// </summary>
public sealed class Ipv6PeerOptions
{
    /// <summary>The NAT64 prefix N offered to clients (RFC 6052, any of the six lengths).</summary>
    public Ipv6Address Prefix { get; set; }
    public int PrefixLength { get; set; } = 96;
    /// <summary>The NAT66 pool routed to this host: client C is seen on the network as P(C) from here.</summary>
    public Ipv6Address Pool { get; set; }
    public int PoolLength { get; set; } = 112;
    /// <summary>Public IPv4 addresses of the coordinators; each owns 2001:0:S::/64.</summary>
    public IList<Ipv4Address> Coordinators { get; set; } = new List<Ipv4Address>();
    /// <summary>Only sources in these networks are served: the v6peer is not an open proxy.</summary>
    public IList<(Ipv6Address Network, int Length)> ClientNetworks { get; set; } = new List<(Ipv6Address, int)>();
    /// <summary>Exceptions to the refusal of non-global destinations (RFC 6890), e.g. 198.18.0.0/15 in the lab.</summary>
    public IList<(Ipv4Address Network, int Length)> AllowedDestinations { get; set; } = new List<(Ipv4Address, int)>();
    /// <summary>Most clients mapped at once; a /64 pool is far larger than any table should be.</summary>
    public int MaxMappings { get; set; } = 65536;
    /// <summary>A mapping unused this long is released, and its pool address goes to the back of the free queue.</summary>
    public int MappingIdleTimeoutMs { get; set; } = 600_000;
    /// <summary>Destinations remembered with the coordinator they were sent through (they stick to it while it is healthy).</summary>
    public int MaxDestinations { get; set; } = 65536;
    /// <summary>
    /// A coordinator that has had packets sent to its T(D)s and nothing back for this long leaves the ring.
    /// Long enough for a relay's bubble exchange (Miredo bubbles every 2 s, up to 4 times) to finish.
    /// </summary>
    public int ResponseWindowMs { get; set; } = 10_000;
    /// <summary>
    /// Without a probe target, an unhealthy coordinator gets a fresh chance after this long (real traffic is then
    /// its probe); with one, it rejoins as soon as a probe is answered.
    /// </summary>
    public int RetryAfterMs { get; set; } = 60_000;
    /// <summary>A global IPv4 address that answers pings, pinged through every coordinator as T_k(probe); null: no probes.</summary>
    public Ipv4Address? ProbeTarget { get; set; }
    public int ProbeIntervalMs { get; set; } = 3_000;
    /// <summary>ICMPv6 errors this peer originates per second (time exceeded, administratively prohibited); 0 = unlimited.</summary>
    public int IcmpErrorsPerSecond { get; set; } = 100;

    /// <summary>Pool offsets: 0 is the subnet-router anycast address, 1 is the peer's own (probes and errors).</summary>
    public const int OwnAddressOffset = 1;
    public const int FirstClientOffset = 2;

    /// <summary>The source of echo probes and of the ICMPv6 errors the peer originates: the pool's second address.</summary>
    public Ipv6Address OwnAddress => new(Pool.Value + OwnAddressOffset);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (!Ipv4EmbeddedIpv6.IsValidPrefixLength(PrefixLength))
            throw new ArgumentException($"prefix length /{PrefixLength}: RFC 6052 allows /32, /40, /48, /56, /64 and /96", nameof(PrefixLength));
        if (PrefixLength != 96 && Prefix[8] != 0)
            throw new ArgumentException($"prefix {Prefix}/{PrefixLength}: bits 64-71 (the u octet) must be zero (RFC 6052 §2.2)", nameof(Prefix));
        RequireNetwork(Prefix, PrefixLength, "prefix", nameof(Prefix));
        if (PoolLength is < 64 or > 124)
            throw new ArgumentException($"pool {Pool}/{PoolLength}: a pool is /64 to /124 (at least 14 client addresses)", nameof(PoolLength));
        RequireNetwork(Pool, PoolLength, "pool", nameof(Pool));
        if (Pool.IsIn(Prefix, PrefixLength) || Prefix.IsIn(Pool, PoolLength))
            throw new ArgumentException($"pool {Pool}/{PoolLength} overlaps the prefix {Prefix}/{PrefixLength}", nameof(Pool));
        if (TeredoAddress.IsTeredo(Pool) || TeredoAddress.IsTeredo(Prefix))
            throw new ArgumentException("neither the prefix nor the pool may lie in 2001::/32: that is where the coordinators are", nameof(Pool));
        if (Coordinators.Count == 0)
            throw new ArgumentException("at least one coordinator is needed", nameof(Coordinators));
        foreach (var c in Coordinators)
            if (SpecialPurposeIpv4.IsSpecial(c) && !IsAllowed(c))
                throw new ArgumentException($"coordinator {c} is not a global IPv4 address (allow it with an allowed destination for a lab)", nameof(Coordinators));
        if (ClientNetworks.Count == 0)
            throw new ArgumentException("at least one client network is needed: the peer serves no one else", nameof(ClientNetworks));
        foreach (var (network, length) in ClientNetworks)
            if (length is < 0 or > 128) throw new ArgumentException($"client network {network}/{length}: bad length", nameof(ClientNetworks));
        foreach (var (network, length) in AllowedDestinations)
            if (length is < 0 or > 32) throw new ArgumentException($"allowed destination {network}/{length}: bad length", nameof(AllowedDestinations));
        if (MaxMappings < 1 || MaxDestinations < 0)
            throw new ArgumentException("table sizes must be positive", nameof(MaxMappings));
        if (MappingIdleTimeoutMs < 1000 || ResponseWindowMs < 100 || RetryAfterMs < 0 || ProbeIntervalMs < 100 || IcmpErrorsPerSecond < 0)
            throw new ArgumentException("timers out of range (idle timeout ≥ 1 s, window and probe interval ≥ 100 ms)", nameof(ResponseWindowMs));
    }

    /// <summary>The number of client addresses the pool can hand out at once.</summary>
    public int Capacity
    {
        get
        {
            int hostBits = 128 - PoolLength;
            long usable = hostBits >= 31 ? int.MaxValue : (1L << hostBits) - FirstClientOffset;
            return (int)Math.Min(usable, MaxMappings);
        }
    }

    public bool IsAllowed(Ipv4Address destination)
    {
        foreach (var (network, length) in AllowedDestinations)
            if (destination.IsIn(network, length)) return true;
        return false;
    }

    private static void RequireNetwork(Ipv6Address address, int length, string what, string name)
    {
        UInt128 hostBits = UInt128.MaxValue >> length;
        if ((address.Value & hostBits) != UInt128.Zero)
            throw new ArgumentException($"{what} {address}/{length} has bits set after its length", name);
    }
}
