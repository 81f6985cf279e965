using Teredo.Net;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>The IPv4 peer engine's policy and bounds (docs/v4peer.md names the option of each).</summary>
public sealed record Ipv4PeerOptions
{
    /// <summary>The peer's own IPv4 address (usually RFC 1918): its static address is translated to it, reaching its host only.</summary>
    public required Ipv4Address LocalAddress { get; init; }
    /// <summary>The private pool IPv6 sources are given addresses of (on the TUN); its first host address is the translator's own.</summary>
    public Ipv4Address PoolNetwork { get; init; } = new(10, 255, 46, 0);
    public int PoolLength { get; init; } = 24;
    /// <summary>Exceptions to the RFC 6890 refusal (e.g. the lab's 198.18.0.0/15), logged by the host.</summary>
    public IReadOnlyList<(Ipv4Address Network, int Length)> AllowedDestinations { get; init; } = [];
    /// <summary>Bandwidth cap over both directions in megabits per second; 0 = none.</summary>
    public double RateLimitMbit { get; init; }
    /// <summary>
    /// Packets per second one IPv6 source may send through this peer (and its burst); 0 = none. About
    /// 200 Mbit/s of 1280-byte packets: one user cannot take a fast donor whole, yet a single flow is not
    /// throttled (2000/s capped an upload at ~20 Mbit/s, the chain's bottleneck in the lab). A donor
    /// protects its own uplink with the bandwidth cap.
    /// </summary>
    public int PerSourcePacketsPerSecond { get; init; } = DefaultPerSourcePacketsPerSecond;
    public int PerSourceBurst { get; init; } = 2 * DefaultPerSourcePacketsPerSecond;
    public const int DefaultPerSourcePacketsPerSecond = 20_000;
    /// <summary>Leases carried at once; more are given back to the coordinator.</summary>
    public int MaxLeases { get; init; } = 10_000;
    /// <summary>IPv6 sources whose relay is remembered (least recently heard evicted first).</summary>
    public int MaxRelayRoutes { get; init; } = 8192;
    /// <summary>A relay route unused this long is forgotten (a standard relay re-bubbles after 30 s of silence anyway).</summary>
    public int RelayRouteIdleSeconds { get; init; } = 600;
    /// <summary>Seconds a lease is kept past its announced end when the coordinator's release never came.</summary>
    public int LeaseGraceSeconds { get; init; } = 30;
    /// <summary>Dynamic pool mappings idle this long are reused (tayga's dynamic-pool lease).</summary>
    public long PoolLeaseMs { get; init; } = 2 * 3600 * 1000;
    /// <summary>The MTU of the IPv4 side (the TUN): 1280 − 20, so a translated packet always fits Teredo's 1280.</summary>
    public int Ipv4Mtu { get; init; } = 1260;
    /// <summary>How often the lease use is reported to the coordinator while a session is up (a reported lease is renewed).</summary>
    public int UseReportIntervalMs { get; init; } = 5000;

    public Ipv4Address TranslatorAddress => new(PoolNetwork.Value + 1);

    public void Validate()
    {
        if (PoolLength is < 16 or > 29) throw new ArgumentException($"pool /{PoolLength}: between /16 and /29", nameof(PoolLength));
        uint mask = uint.MaxValue << (32 - PoolLength);
        if ((PoolNetwork.Value & ~mask) != 0) throw new ArgumentException($"pool {PoolNetwork}/{PoolLength} has host bits set", nameof(PoolNetwork));
        if (LocalAddress.IsIn(PoolNetwork, PoolLength)) throw new ArgumentException($"the local address {LocalAddress} is inside the pool", nameof(PoolNetwork));
        if (RateLimitMbit < 0) throw new ArgumentOutOfRangeException(nameof(RateLimitMbit));
        if (PerSourcePacketsPerSecond < 0 || PerSourceBurst < 0) throw new ArgumentOutOfRangeException(nameof(PerSourcePacketsPerSecond));
        if (MaxLeases <= 0 || MaxRelayRoutes <= 0 || RelayRouteIdleSeconds <= 0) throw new ArgumentOutOfRangeException(nameof(MaxLeases), "bounds must be positive");
        if (UseReportIntervalMs <= 0) throw new ArgumentOutOfRangeException(nameof(UseReportIntervalMs), "must be positive");
        if (Ipv4Mtu is < 1260 or > 65535) throw new ArgumentOutOfRangeException(nameof(Ipv4Mtu), "at least 1260");
        foreach (var (_, length) in AllowedDestinations)
            if (length is < 0 or > 32) throw new ArgumentException("allowed destination: bad length", nameof(AllowedDestinations));
    }
}
