using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Client;

/// <summary>What a Teredo client is configured with; the host builds it from miredo.conf and options.</summary>
public sealed record ClientOptions
{
    /// <summary>The server's primary IPv4 address (ServerAddress), embedded in the client's Teredo address.</summary>
    public required Ipv4Address Server { get; init; }
    /// <summary>The server's secondary address (ServerAddress2); primary + 1 unless configured (miredo.conf(5)).</summary>
    public Ipv4Address? SecondaryServer { get; init; }
    public Ipv4Address SecondaryServerAddress => SecondaryServer ?? new Ipv4Address(Server.Value + 1);
    /// <summary>The /32 service prefix the RA's prefix must start with (§5.2.1).</summary>
    public Ipv6Address ServicePrefix { get; init; } = TeredoAddress.ServicePrefix;

    /// <summary>Secure qualification (§5.2.2): identifier and shared secret (HMAC-SHA1); null for the nonce-only form.</summary>
    public byte[]? ClientId { get; init; }
    public byte[]? Secret { get; init; }

    /// <summary>
    /// RFC 4380's refusal behind a symmetric NAT: the client qualifies only once the NAT type is known to
    /// be cone or restricted. Off by default: the client qualifies on the first valid answer and keeps
    /// the primary server's mapping, which relays that accept nonce-proven bubbles can reach.
    /// </summary>
    public bool StrictSymmetric { get; init; }

    /// <summary>Qualification time-out T and repetitions N (§5.2.1: 4 s and 3).</summary>
    public int QualificationTimeoutMs { get; init; } = 4000;
    public int QualificationAttempts { get; init; } = 3;
    /// <summary>After failing to qualify, the client is off line this long before it tries again.</summary>
    public int OfflineRetryMs { get; init; } = 30_000;

    /// <summary>The Teredo refresh interval (§5.2: 30 s); the randomized interval is 75-100 % of it.</summary>
    public int RefreshIntervalMs { get; init; } = 30_000;

    /// <summary>How long a trusted peer entry stays valid without hearing from the peer (§5.2.4: 30 s).</summary>
    public int TrustLifetimeMs { get; init; } = 30_000;
    /// <summary>Bubble and echo-test retransmission interval (§5.2.4, §5.2.6: 2 s) and repetitions (3).</summary>
    public int RetryIntervalMs { get; init; } = 2000;
    public int Retries { get; init; } = 3;
    /// <summary>§5.2.6: at most this many bubbles per peer in <see cref="BubbleWindowMs"/> without a direct answer.</summary>
    public int BubbleLimit { get; init; } = 4;
    public int BubbleWindowMs { get; init; } = 300_000;
    /// <summary>Treat every Teredo peer as non-cone (§5.2.4 allows it; RFC 5991 deprecates the cone bit).</summary>
    public bool IgnoreConeBit { get; init; }

    public int PeerCapacity { get; init; } = 4096;
    public int MaxQueuedPerPeer { get; init; } = 16;
    public int MaxQueuedBytes { get; init; } = 1 << 20;

    /// <summary>Local client discovery (§5.2.8), off by default. Needs <see cref="LocalNetwork"/>.</summary>
    public bool LocalDiscovery { get; init; }
    /// <summary>The IPv4 subnet of the client's interface: discovery bubbles from elsewhere are discarded (§5.2.8).</summary>
    public (Ipv4Address Network, int PrefixLength)? LocalNetwork { get; init; }
    /// <summary>Discovery bubbles go out at random intervals in this range (§5.2.8: 200-300 s).</summary>
    public int DiscoveryIntervalMinMs { get; init; } = 200_000;
    public int DiscoveryIntervalMaxMs { get; init; } = 300_000;
    /// <summary>A peer stays "local" this long after its last discovery bubble (§5.2.4: 600 s).</summary>
    public int LocalPeerLifetimeMs { get; init; } = 600_000;

    /// <summary>Refresh interval determination (§5.2.7) over a secondary port, off by default.</summary>
    public bool RefreshDetermination { get; init; }
    public int MaximumRefreshIntervalMs { get; init; } = 120_000;

    /// <summary>Pending events kept for the host; beyond this the oldest are dropped (and counted).</summary>
    public int EventCapacity { get; init; } = 256;

    /// <summary>Key for the per-peer nonce in indirect bubble sources; random per run unless a test fixes it.</summary>
    public byte[] NonceKey { get; init; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>Checks the values a host may have got wrong; returns the first problem or null.</summary>
    public string? Validate()
    {
        if (!Ipv4Classification.IsTeredoGlobalUnicast(Server)) return $"server address {Server} is not a global unicast IPv4 address";
        if (ClientId is { Length: > 255 }) return "the client identifier is longer than 255 bytes";
        if ((ClientId is null) != (Secret is null)) return "secure qualification needs both a client identifier and a secret";
        if (QualificationTimeoutMs < 1 || QualificationAttempts < 1) return "qualification time-out and attempts must be positive";
        if (RefreshIntervalMs < 1000) return "the refresh interval must be at least one second";
        if (RetryIntervalMs < 1 || Retries < 0 || BubbleLimit is < 1 or > Peers.BubbleHistory.Capacity) return "retry interval, retries and bubble limit are out of range";
        if (PeerCapacity < 1 || EventCapacity < 1) return "peer and event capacities must be positive";
        if (LocalDiscovery && LocalNetwork is null) return "local discovery needs the local IPv4 network";
        if (DiscoveryIntervalMinMs < 1 || DiscoveryIntervalMaxMs < DiscoveryIntervalMinMs) return "discovery interval range is invalid";
        if (RefreshDetermination && MaximumRefreshIntervalMs < RefreshIntervalMs) return "the maximum refresh interval is below the refresh interval";
        return null;
    }
}
