using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.P2p.Ipv6Peer;

/// <summary>A coordinator as the IPv6 peer sees it: its /64, whether it is in the ring, and the evidence.</summary>
public sealed class CoordinatorHealth(Ipv4Address address)
{
    internal const long Never = long.MinValue;

    public Ipv4Address Address { get; } = address;
    /// <summary>The upper 64 bits of its addresses: 2001:0000:SSSS:SSSS.</summary>
    public ulong Prefix { get; } = CoordinatorAddress.Prefix(address).Upper;
    public bool Healthy { get; internal set; } = true;
    /// <summary>When the oldest packet still waiting for any answer was sent; <see cref="Never"/> when none waits.</summary>
    public long AwaitingSinceMs { get; internal set; } = Never;
    public long LastAnswerMs { get; internal set; } = Never;
    public long DownSinceMs { get; internal set; } = Never;
    public long PacketsSent { get; internal set; }
    public long PacketsAnswered { get; internal set; }
    public long TimesDown { get; internal set; }
}

/// <summary>
/// Chooses the coordinator for a destination D and keeps the coordinators' health (DESIGN.md §B.4, §B.6).
/// The choice is rendezvous hashing (highest random weight) over the healthy coordinators: each scores D with
/// a fixed hash of (D, coordinator) and the best wins, so removing one coordinator moves only the
/// destinations it had. A destination then sticks to the coordinator it was sent through while that one
/// stays healthy, even when another one comes back (moving it would change the IPv4 peer, hence the public
/// IPv4 source, under a live flow). Health is "answers come back": a coordinator that has had a packet
/// waiting for any answer for longer than the response window leaves the ring, and rejoins when anything
/// from its /64 comes back (a probe reply), or after a hold-down when there are no probes.
/// </summary>
public sealed class CoordinatorRing
{
    private struct Sticky
    {
        public int Index;
        public long LastUseMs;
    }

    private readonly CoordinatorHealth[] _coordinators;
    private readonly Dictionary<uint, Sticky> _destinations;
    private readonly int _maxDestinations;
    private readonly Ipv6PeerOptions _options;
    private readonly Ipv6PeerCounters _counters;

    public CoordinatorRing(Ipv6PeerOptions options, Ipv6PeerCounters counters)
    {
        _options = options;
        _counters = counters;
        _coordinators = new CoordinatorHealth[options.Coordinators.Count];
        for (int i = 0; i < _coordinators.Length; i++) _coordinators[i] = new CoordinatorHealth(options.Coordinators[i]);
        _maxDestinations = options.MaxDestinations;
        _destinations = new Dictionary<uint, Sticky>(_maxDestinations);
    }

    public IReadOnlyList<CoordinatorHealth> Coordinators => _coordinators;
    public int DestinationCount => _destinations.Count;

    /// <summary>The coordinator for D: its sticky one while healthy, else the best-scoring healthy one.</summary>
    public int Choose(long nowMs, Ipv4Address destination)
    {
        ref Sticky sticky = ref CollectionsMarshal.GetValueRefOrNullRef(_destinations, destination.Value);
        bool known = !Unsafe.IsNullRef(ref sticky);
        // The window is checked here too, not only on the timer: the packet that finds it run out already moves.
        if (known && IsHealthy(nowMs, _coordinators[sticky.Index]))
        {
            sticky.LastUseMs = nowMs;
            return sticky.Index;
        }
        int chosen = Rendezvous(destination, healthyOnly: true);
        if (chosen < 0)
        {
            // Every coordinator looks down: trying one beats refusing the flow, and its answer brings it back.
            _counters.Increment(Ipv6PeerCounter.NoHealthyCoordinator);
            chosen = Rendezvous(destination, healthyOnly: false);
        }
        if (known)
        {
            sticky.Index = chosen;
            sticky.LastUseMs = nowMs;
        }
        else if (_destinations.Count < _maxDestinations)
        {
            _destinations.Add(destination.Value, new Sticky { Index = chosen, LastUseMs = nowMs });
        }
        else
        {
            _counters.Increment(Ipv6PeerCounter.DestinationTableFull);
        }
        return chosen;
    }

    /// <summary>The best-scoring coordinator for <paramref name="destination"/>; -1 when none qualifies.</summary>
    public int Rendezvous(Ipv4Address destination, bool healthyOnly)
    {
        int best = -1;
        ulong bestScore = 0;
        for (int i = 0; i < _coordinators.Length; i++)
        {
            if (healthyOnly && !_coordinators[i].Healthy) continue;
            ulong score = Score(destination, _coordinators[i].Address);
            if (best < 0 || score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }
        return best;
    }

    /// <summary>A fixed hash (no per-process seed, so choices survive restarts) of the pair.</summary>
    public static ulong Score(Ipv4Address destination, Ipv4Address coordinator) =>
        Mix((ulong)coordinator.Value << 32 | destination.Value);

    /// <summary>SplitMix64's finalizer: every input bit affects every output bit.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The configured coordinator whose /64 holds <paramref name="address"/>; -1 when none.</summary>
    public int IndexOf(Ipv6Address address)
    {
        ulong upper = address.Upper;
        for (int i = 0; i < _coordinators.Length; i++)
            if (_coordinators[i].Prefix == upper) return i;
        return -1;
    }

    /// <summary>T_k(D): the dynamic address of D in coordinator k's /64.</summary>
    public Ipv6Address DynamicAddress(int index, Ipv4Address destination) =>
        new(_coordinators[index].Prefix, (ulong)destination.Value << 24);

    public void Sent(long nowMs, int index)
    {
        var c = _coordinators[index];
        c.PacketsSent++;
        if (c.AwaitingSinceMs == CoordinatorHealth.Never) c.AwaitingSinceMs = nowMs;
    }

    public void Answered(long nowMs, int index)
    {
        var c = _coordinators[index];
        c.PacketsAnswered++;
        c.AwaitingSinceMs = CoordinatorHealth.Never;
        c.LastAnswerMs = nowMs;
        if (!c.Healthy) Up(c);
    }

    /// <summary>
    /// When <see cref="Check"/> next changes something: the earliest close of a response window of a healthy
    /// coordinator awaiting an answer, or (without probes) the earliest retry of a held-down one.
    /// </summary>
    public long NextCheckMs
    {
        get
        {
            long next = long.MaxValue;
            foreach (var c in _coordinators)
            {
                if (c.Healthy && c.AwaitingSinceMs != CoordinatorHealth.Never) next = Math.Min(next, c.AwaitingSinceMs + _options.ResponseWindowMs);
                else if (!c.Healthy && _options.ProbeTarget is null) next = Math.Min(next, c.DownSinceMs + _options.RetryAfterMs);
            }
            return next;
        }
    }

    /// <summary>Takes out the coordinators whose window ran out, and gives the held-down ones another chance.</summary>
    public void Check(long nowMs)
    {
        foreach (var c in _coordinators)
        {
            if (IsHealthy(nowMs, c)) continue;
            if (_options.ProbeTarget is null && nowMs - c.DownSinceMs >= _options.RetryAfterMs) Up(c);
        }
    }

    /// <summary>Whether <paramref name="c"/> is in the ring, taking it out first when its window ran out.</summary>
    private bool IsHealthy(long nowMs, CoordinatorHealth c)
    {
        if (!c.Healthy) return false;
        if (c.AwaitingSinceMs == CoordinatorHealth.Never || nowMs - c.AwaitingSinceMs < _options.ResponseWindowMs) return true;
        c.Healthy = false;
        c.DownSinceMs = nowMs;
        c.AwaitingSinceMs = CoordinatorHealth.Never;
        c.TimesDown++;
        _counters.Increment(Ipv6PeerCounter.CoordinatorsDown);
        return false;
    }

    /// <summary>Forgets destinations not used for the idle timeout (they go by the hash again next time).</summary>
    public void ExpireDestinations(long nowMs)
    {
        foreach (var (key, sticky) in _destinations)
            if (nowMs - sticky.LastUseMs >= _options.MappingIdleTimeoutMs) _destinations.Remove(key);
    }

    private void Up(CoordinatorHealth c)
    {
        c.Healthy = true;
        c.DownSinceMs = CoordinatorHealth.Never;
        c.AwaitingSinceMs = CoordinatorHealth.Never;
        _counters.Increment(Ipv6PeerCounter.CoordinatorsUp);
    }
}
