using Teredo.Engines;
using Teredo.Peers;

namespace Teredo.Client;

/// <summary>
/// When the client next needs <see cref="OnTimer"/> (quinn-proto's poll_timeout): the earliest moment any of
/// the timers the other parts check becomes due. Each term below mirrors one check of <see cref="OnTimer"/>,
/// so a host that calls it only at this deadline sees the same packets, at the same moments or earlier, as
/// one that polls. Computed on demand from a handful of fields, except the pending peers' earliest bubble,
/// which is kept as a bound (<see cref="_nextKnockMs"/>) so that reading the deadline never walks the list.
/// </summary>
public sealed partial class TeredoClientEngine
{
    /// <summary>
    /// No later than the earliest <see cref="Peer.NextBubbleMs"/> of a pending peer: lowered whenever one is set,
    /// made exact by the timer's walk. A peer that stops pending early (proven, given up, evicted) may leave it
    /// too early: one empty wake-up, never a late retry.
    /// </summary>
    private long _nextKnockMs = long.MaxValue;

    /// <summary>
    /// <see cref="long.MinValue"/> for a new engine (its first timer starts qualification); otherwise the
    /// earliest retransmission, give-up, refresh or procedure step; <see cref="long.MaxValue"/> when none.
    /// After <see cref="OnTimer"/>(now) it is later than now. After a packet at now it is now at the
    /// earliest when the host served every earlier deadline (an address change schedules the discovery
    /// bubble for at once), and earlier only when the host is late with a timer it owes.
    /// </summary>
    public long NextDeadlineMs
    {
        get
        {
            if (State == ClientState.Initial) return long.MinValue;
            long next = State == ClientState.Offline ? _retryAtMs : long.MaxValue;
            next = Math.Min(next, ProbeDeadline(_coneProbe));
            next = Math.Min(next, ProbeDeadline(_primaryProbe));
            next = Math.Min(next, ProbeDeadline(_secondaryProbe));
            next = Math.Min(next, ProbeDeadline(_maintenanceProbe));
            next = Math.Min(next, ProbeDeadline(_secondaryPortProbe));
            if (_peers.Pending.Count > 0) next = Math.Min(next, _nextKnockMs);
            if (State != ClientState.Qualified) return next;
            if (!_maintenanceProbe.Active) next = Math.Min(next, After(_lastServerMs, _randomizedRefreshMs));
            if (_options.LocalDiscovery) next = Math.Min(next, _nextDiscoveryMs);
            return RefreshDetermination switch
            {
                RefreshDeterminationPhase.Waiting => Math.Min(next, After(_lastSecondaryMs, _candidateMs)),
                RefreshDeterminationPhase.Probing => Math.Min(next, _refreshProbeNextMs),
                _ => next,
            };
        }
    }

    private static long ProbeDeadline(QualificationProbe probe) => probe.Active ? probe.NextMs : long.MaxValue;

    /// <summary><paramref name="intervalMs"/> after <paramref name="thenMs"/>; at once for a time that never was (as <see cref="Elapsed"/> counts it).</summary>
    private static long After(long thenMs, long intervalMs) => thenMs == long.MinValue ? long.MinValue : thenMs + intervalMs;

    /// <summary>Schedules the next attempt of a pending peer's exchange.</summary>
    private void ScheduleKnock(Peer peer, long atMs)
    {
        peer.NextBubbleMs = atMs;
        // Alone in the list, the peer makes the bound exact: a bound left by peers that stopped pending while
        // the list emptied (the deadline ignores it then, so no timer ever cleared it) may be long past.
        _nextKnockMs = _peers.Pending.Count <= 1 ? atMs : Math.Min(_nextKnockMs, atMs);
    }

    /// <summary>The exact earliest attempt among the pending peers, after the timer walked them.</summary>
    private void RecomputeNextKnock()
    {
        long next = long.MaxValue;
        var pending = _peers.Pending;
        for (int i = 0; i < pending.Count; i++) next = Math.Min(next, pending[i].NextBubbleMs);
        _nextKnockMs = next;
    }
}
