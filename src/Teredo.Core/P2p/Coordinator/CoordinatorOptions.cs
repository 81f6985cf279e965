using Teredo.Net;

namespace Teredo.P2p.Coordinator;

/// <summary>An IPv4 prefix an operator allows as a NAT64 destination although RFC 6890 marks it not global.</summary>
public readonly record struct Ipv4Prefix(Ipv4Address Network, int Length)
{
    public bool Contains(Ipv4Address address) => address.IsIn(Network, Length);

    public static bool TryParse(string text, out Ipv4Prefix prefix)
    {
        prefix = default;
        var parts = text.Split('/');
        if (parts.Length != 2 || !Ipv4Address.TryParse(parts[0], out var network)
            || !int.TryParse(parts[1], out int length) || length is < 0 or > 32) return false;
        uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
        prefix = new Ipv4Prefix(new Ipv4Address(network.Value & mask), length);
        return true;
    }

    public override string ToString() => $"{Network}/{Length}";
}

/// <summary>The coordinator engine's policy and bounds (docs/coordinator.md names the directive of each).</summary>
public sealed record CoordinatorOptions
{
    /// <summary>S, the coordinator's public IPv4 address: its /64 is 2001:0:S::/64.</summary>
    public required Ipv4Address Address { get; init; }
    public IReadOnlyList<Ipv4Prefix> AllowDestinations { get; init; } = [];
    /// <summary>Join tokens; null lets any peer join.</summary>
    public IReadOnlySet<string>? Tokens { get; init; }

    public int MaxPeers { get; init; } = 20_000;
    public int MaxLeases { get; init; } = 200_000;
    public int MaxLeasesPerPeer { get; init; } = 20_000;
    /// <summary>Static addresses ever handed out; a full book refuses static addresses to new identities.</summary>
    public int MaxStaticAssignments { get; init; } = 1_000_000;

    /// <summary>A lease with traffic lives this long after the last reported packet.</summary>
    public int LeaseIdleSeconds { get; init; } = 300;
    /// <summary>A lease no traffic was ever reported for (a relay bubbled but no flow followed) lives this long.</summary>
    public int ProbationSeconds { get; init; } = 30;
    /// <summary>
    /// The keepalive only has to keep the peer's TCP NAT binding alive and show the session is live: the
    /// peer's Teredo UDP socket is refreshed by its own bubbles to relays, never by this channel. TCP
    /// bindings are long-lived (RFC 5382 asks for at least 2 h 4 min once established; the shortest seen in
    /// practice, in some home gateways and carrier NATs, are a few minutes), so 2 minutes refreshes any
    /// of them while costing 83 TLS records a second each way at 10,000 peers instead of 667 at 15 s.
    /// A vanished peer is found sooner than the session timeout when anything is sent to it: the control
    /// sockets carry TCP_USER_TIMEOUT (30 s), so an unacknowledged notification ends the session.
    /// </summary>
    public int KeepaliveSeconds { get; init; } = 120;
    /// <summary>A session silent this long is closed: two and a half keepalive intervals.</summary>
    public int SessionTimeoutSeconds { get; init; } = 300;

    /// <summary>Bubbles accepted per second from one relay IPv4 address (and its burst).</summary>
    public int BubbleRatePerRelay { get; init; } = 500;
    public int BubbleBurstPerRelay { get; init; } = 1000;
    /// <summary>Notifications per second that make peers bubble one IPv4 address: the reflection limit.</summary>
    public int NotificationRatePerTarget { get; init; } = 50;
    public int NotificationBurstPerTarget { get; init; } = 100;
    /// <summary>New leases per second over all relays: a flood for random destinations creates no more.</summary>
    public int NewLeaseRate { get; init; } = 2000;
    public int NewLeaseBurst { get; init; } = 4000;
    public int RateLimitSlots { get; init; } = 65536;

    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, "must be positive");
        }
        Positive(MaxPeers, nameof(MaxPeers));
        Positive(MaxLeases, nameof(MaxLeases));
        Positive(MaxLeasesPerPeer, nameof(MaxLeasesPerPeer));
        Positive(MaxStaticAssignments, nameof(MaxStaticAssignments));
        Positive(LeaseIdleSeconds, nameof(LeaseIdleSeconds));
        Positive(ProbationSeconds, nameof(ProbationSeconds));
        Positive(KeepaliveSeconds, nameof(KeepaliveSeconds));
        Positive(NewLeaseRate, nameof(NewLeaseRate));
        Positive(NewLeaseBurst, nameof(NewLeaseBurst));
        if (SessionTimeoutSeconds <= KeepaliveSeconds)
            throw new ArgumentOutOfRangeException(nameof(SessionTimeoutSeconds), "must be longer than the keepalive interval");
        if (LeaseIdleSeconds > ushort.MaxValue || SessionTimeoutSeconds > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(LeaseIdleSeconds), "at most 65535 s");
        if (MaxStaticAssignments > 1 << 23)
            throw new ArgumentOutOfRangeException(nameof(MaxStaticAssignments), "at most half the 24-bit suffix space");
    }
}
