using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.Wire;

namespace Teredo.P2p.Coordinator;

public sealed partial class CoordinatorEngine
{
    /// <summary>
    /// One UDP datagram that reached S:3544, normally a standard relay's indirect bubble (source fe80::nonce
    /// for Miredo's and ours, destination T(D) or a static address). Hands it to the owning peer, leasing
    /// T(D) first when nobody holds it. Nothing is ever sent back on UDP. No allocation unless a lease is created.
    /// </summary>
    public void OnBubble(long nowMs, Ipv4Endpoint relay, ReadOnlySpan<byte> payload)
    {
        Counters.Increment(CoordinatorCounter.BubblesReceived);
        if (!_intake.TryTake(relay.Address, nowMs)) { Counters.Increment(CoordinatorCounter.BubbleIntakeLimited); return; }
        if (TeredoDatagram.TryParse(payload, out var datagram) != TeredoParseError.None)
        {
            Counters.Increment(CoordinatorCounter.BubbleMalformed);
            return;
        }
        var ip = datagram.Ipv6;
        if (!ip.IsBubble) { Counters.Increment(CoordinatorCounter.BubbleNotBubble); return; }
        if (!CoordinatorAddress.TryParse(ip.Destination, out var target, out _) || target.Coordinator != _options.Address)
        {
            Counters.Increment(CoordinatorCounter.BubbleOtherPrefix);
            return;
        }

        if (target.Kind == CoordinatorAddressKind.Static)
        {
            if (!_bySuffix.TryGetValue(target.Suffix, out var holder) || holder.LocalAddress != target.Embedded)
            {
                Counters.Increment(CoordinatorCounter.BubbleStaticUnknown);
                return;
            }
            Counters.Increment(CoordinatorCounter.BubbleForStaticAddress);
            Notify(holder, nowMs, relay, ip.Source, ip.Destination);
            return;
        }

        var destination = target.Embedded;
        if (!IsAllowedDestination(destination)) { Counters.Increment(CoordinatorCounter.BubbleDestinationRefused); return; }
        if (_leases.TryGetValue(destination.Value, out var lease))
        {
            Counters.Increment(CoordinatorCounter.BubbleForLease);
            lease.SawRelay(relay, ip.Source);
            lease.Bubbles++;
            Notify(lease.Owner, nowMs, relay, ip.Source, ip.Destination);
            return;
        }

        var created = TryCreateLease(destination, nowMs);
        if (created is null) return;
        Counters.Increment(CoordinatorCounter.BubbleLeaseCreated);
        created.SawRelay(relay, ip.Source);
        created.Bubbles++;
        Notify(created.Owner, nowMs, relay, ip.Source, ip.Destination);
    }

    private Lease? TryCreateLease(Ipv4Address destination, long nowMs)
    {
        if (_peers.Count == 0) { Counters.Increment(CoordinatorCounter.BubbleNoPeer); return null; }
        if (!_newLeases.TryTake(nowMs)) { Counters.Increment(CoordinatorCounter.BubbleNewLeaseLimited); return null; }
        if (_leases.Count >= _options.MaxLeases && !EvictOldestUnproven())
        {
            Counters.Increment(CoordinatorCounter.BubbleLeaseTableFull);
            return null;
        }
        var owner = ChooseOwner(destination.Value);
        // Every peer full: a lease still on probation makes room; a proven one (a real flow) never does.
        if (owner is null && EvictOldestUnproven()) owner = ChooseOwner(destination.Value);
        if (owner is null) { Counters.Increment(CoordinatorCounter.BubbleNoPeer); return null; }

        var lease = new Lease(destination, DynamicAddress(destination), owner, nowMs)
        {
            ExpiresMs = nowMs + _options.ProbationSeconds * 1000L,
            LastUseMs = nowMs,
        };
        lease.ProbationNode = _probation.AddLast(lease);
        _leases[destination.Value] = lease;
        owner.Leases.Add(destination.Value);
        Counters.Increment(CoordinatorCounter.LeasesGranted);
        Say(owner.Session, new LeaseGranted(lease.Address, (ushort)_options.ProbationSeconds, []));
        return lease;
    }

    private bool EvictOldestUnproven()
    {
        if (_probation.First is not { } oldest) return false;
        var lease = oldest.Value;
        Counters.Increment(CoordinatorCounter.LeasesEvictedUnproven);
        Say(lease.Owner.Session, new LeaseRevoked(lease.Address, LeaseEndReason.Administrative));
        Remove(lease);
        return true;
    }

    /// <summary>
    /// The peer a destination goes to: the rendezvous-hash winner weighted by capacity, so that a destination
    /// sticks to one peer (servers see one client address); when that peer is full, the least loaded peer with room.
    /// </summary>
    private PeerState? ChooseOwner(uint destination)
    {
        // Weighted rendezvous over all peers, computed per weight class: within a class the highest hash
        // wins (no logarithm per peer), so 10,000 peers cost 10,000 hashes, not 10,000 logarithms.
        PeerState? best = null;
        double bestScore = double.NegativeInfinity;
        foreach (var group in _weightClasses.Values)
        {
            PeerState? top = null;
            ulong topHash = 0;
            foreach (var peer in group)
            {
                ulong h = Rendezvous.Hash(destination, peer.Identity);
                if (top is null || h > topHash) { topHash = h; top = peer; }
            }
            if (top is null) continue;
            double score = Rendezvous.Score(topHash, top.Capacity);
            if (score > bestScore) { bestScore = score; best = top; }
        }
        if (best is null || best.Leases.Count < best.LeaseLimit) return best;

        PeerState? least = null;
        double leastLoad = double.MaxValue;
        foreach (var peer in _peers)
        {
            if (peer.Leases.Count >= peer.LeaseLimit) continue;
            double load = (double)peer.Leases.Count / peer.LeaseLimit;
            if (load < leastLoad) { leastLoad = load; least = peer; }
        }
        return least;
    }

    /// <summary>
    /// Tells a peer to bubble a relay. The per-target limit keeps a spoofed source from turning peers into a
    /// bubble cannon aimed at a victim: at most NotificationRatePerTarget bubbles per second per IPv4 target.
    /// </summary>
    private void Notify(PeerState peer, long nowMs, Ipv4Endpoint relay, Ipv6Address source, Ipv6Address destination)
    {
        if (!_reflection.TryTake(relay.Address, nowMs))
        {
            Counters.Increment(CoordinatorCounter.NotificationsReflectionLimited);
            return;
        }
        Span<byte> frame = stackalloc byte[ControlFrame.HeaderLength + BubbleNotification.Length];
        ControlFrame.Emit(frame, new BubbleNotification(relay, source, destination));
        if (_sink.Send(peer.Session, frame))
        {
            peer.NotificationsSent++;
            Counters.Increment(CoordinatorCounter.NotificationsSent);
        }
        else Counters.Increment(CoordinatorCounter.NotificationsSessionGone);
    }
}
