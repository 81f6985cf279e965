using Teredo.Addressing;
using Teredo.Common;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.Wire;

namespace Teredo.P2p.Coordinator;

/// <summary>
/// The P2P coordinator's logic, sans-I/O (DESIGN.md §B.1-§B.3, §B.6): IPv4 peers' control sessions,
/// static addresses, dynamic T(D) leases, and the relays' indirect bubbles that start flows. The host
/// feeds it TLS frames, UDP payloads from port 3544 and the clock, all under one lock; the engine writes
/// frames to <see cref="ICoordinatorSink"/>. It never produces a UDP packet: the coordinator sends nothing
/// toward relays or native IPv6.
/// </summary>
public sealed partial class CoordinatorEngine
{
    private readonly CoordinatorOptions _options;
    private readonly ICoordinatorSink _sink;
    private readonly StaticAddressBook _book;
    private readonly ulong _prefix;
    private readonly Dictionary<long, PeerState> _bySession = [];
    private readonly Dictionary<UInt128, PeerState> _byIdentity = [];
    private readonly Dictionary<uint, PeerState> _bySuffix = [];
    private readonly List<PeerState> _peers = [];
    /// <summary>Peers that take leases, by announced capacity (their rendezvous weight).</summary>
    private readonly Dictionary<uint, List<PeerState>> _weightClasses = [];
    private readonly Dictionary<uint, Lease> _leases = [];
    /// <summary>Unproven leases, oldest first: the only ones a new lease may evict.</summary>
    private readonly LinkedList<Lease> _probation = new();
    private readonly SourceRateLimiter _intake;
    private readonly SourceRateLimiter _reflection;
    private readonly TokenBucket _newLeases;
    private readonly List<Lease> _scratchLeases = [];
    private readonly List<PeerState> _scratchPeers = [];
    private readonly byte[] _frame = new byte[ControlFrame.MaxFrameBytes];
    /// <summary>An array, so the per-bubble check enumerates without boxing.</summary>
    private readonly Ipv4Prefix[] _allowed;

    public CoordinatorEngine(CoordinatorOptions options, ICoordinatorSink sink, IStaticAssignmentJournal journal,
        IEnumerable<KeyValuePair<UInt128, uint>>? recovered = null)
    {
        options.Validate();
        _options = options;
        _sink = sink;
        _book = new StaticAddressBook(journal, options.MaxStaticAssignments, recovered ?? []);
        _prefix = CoordinatorAddress.Prefix(options.Address).Upper;
        _allowed = [.. options.AllowDestinations];
        _intake = new SourceRateLimiter(options.BubbleRatePerRelay, options.BubbleBurstPerRelay, options.RateLimitSlots);
        _reflection = new SourceRateLimiter(options.NotificationRatePerTarget, options.NotificationBurstPerTarget, options.RateLimitSlots);
        _newLeases = new TokenBucket(options.NewLeaseRate, options.NewLeaseBurst);
    }

    public CoordinatorCounters Counters { get; } = new();
    public CoordinatorOptions Options => _options;
    public IReadOnlyCollection<PeerState> Peers => _peers;
    public IReadOnlyCollection<Lease> Leases => _leases.Values;
    public int StaticAssignments => _book.Count;
    public int ProbationLeases => _probation.Count;

    public PeerState? PeerBySession(long session) => _bySession.GetValueOrDefault(session);

    public Lease? LeaseFor(Ipv4Address destination) => _leases.GetValueOrDefault(destination.Value);

    /// <summary>Whether D may be a NAT64 destination: globally reachable (RFC 6890) or explicitly allowed.</summary>
    public bool IsAllowedDestination(Ipv4Address destination)
    {
        foreach (var allowed in _allowed)
            if (allowed.Contains(destination)) return true;
        return !SpecialPurposeIpv4.IsSpecial(destination);
    }

    /// <summary>The clock: session timeouts and lease expiry. Returns when it wants to be called again.</summary>
    public long Tick(long nowMs)
    {
        _scratchPeers.Clear();
        long timeout = _options.SessionTimeoutSeconds * 1000L;
        foreach (var peer in _peers)
            if (nowMs - peer.LastFrameMs > timeout) _scratchPeers.Add(peer);
        foreach (var peer in _scratchPeers)
        {
            Counters.Increment(CoordinatorCounter.PeersTimedOut);
            Say(peer.Session, new GoodbyeMessage(GoodbyeReason.Timeout, "no keepalive"));
            _sink.Close(peer.Session);
            Leave(peer, nowMs);
        }

        _scratchLeases.Clear();
        foreach (var lease in _leases.Values)
            if (lease.ExpiresMs <= nowMs) _scratchLeases.Add(lease);
        foreach (var lease in _scratchLeases)
        {
            Counters.Increment(CoordinatorCounter.LeasesExpired);
            Say(lease.Owner.Session, new LeaseReleased(lease.Address, LeaseEndReason.Idle));
            Remove(lease);
        }
        return nowMs + 1000;
    }

    private bool Say<T>(long session, in T message) where T : struct, IControlMessage<T>
    {
        int n = ControlFrame.Emit(_frame, message);
        return _sink.Send(session, _frame.AsSpan(0, n));
    }

    private void Remove(Lease lease)
    {
        _leases.Remove(lease.Destination.Value);
        lease.Owner.Leases.Remove(lease.Destination.Value);
        if (lease.ProbationNode is { } node)
        {
            _probation.Remove(node);
            lease.ProbationNode = null;
        }
    }

    private Ipv6Address DynamicAddress(Ipv4Address destination) => new(_prefix, (ulong)destination.Value << 24);
}
