using System.Security.Cryptography;
using System.Text;
using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Control;

namespace Teredo.P2p.Coordinator;

public sealed partial class CoordinatorEngine
{
    /// <summary>One frame from a session (the host split it off the stream with <see cref="ControlFrame.TryRead"/>).</summary>
    public void OnMessage(long session, long nowMs, ControlMessageType type, ReadOnlySpan<byte> body)
    {
        var peer = _bySession.GetValueOrDefault(session);
        if (peer is null)
        {
            if (type == ControlMessageType.Hello && HelloMessage.TryParseBody(body, out var hello)) OnHello(session, nowMs, hello);
            else ProtocolError(session, null, nowMs, type == ControlMessageType.Hello ? ControlErrorCode.MalformedFrame : ControlErrorCode.UnexpectedMessage, "hello first");
            return;
        }
        peer.LastFrameMs = nowMs;
        switch (type)
        {
            case ControlMessageType.Keepalive when KeepaliveMessage.TryParseBody(body, out var keepalive):
                Counters.Increment(CoordinatorCounter.KeepalivesReceived);
                peer.LastKeepaliveMs = nowMs;
                Say(session, keepalive);
                break;
            case ControlMessageType.LeaseUse when LeaseUseReport.TryParseBody(body, out _):
                OnUseReport(peer, nowMs, body);
                break;
            case ControlMessageType.LeaseReleased when LeaseReleased.TryParseBody(body, out var released):
                if (CoordinatorAddress.TryParse(released.Address, out var a, out _) && a.Kind == CoordinatorAddressKind.Dynamic
                    && _leases.TryGetValue(a.Embedded.Value, out var lease) && lease.Owner == peer)
                {
                    Counters.Increment(CoordinatorCounter.LeasesReleasedByPeer);
                    Remove(lease);
                }
                break;
            case ControlMessageType.Goodbye when GoodbyeMessage.TryParseBody(body, out _):
                Counters.Increment(CoordinatorCounter.PeersLeft);
                _sink.Close(session);
                Leave(peer, nowMs);
                break;
            default:
                ProtocolError(session, peer, nowMs, ControlErrorCode.UnexpectedMessage, $"unexpected or malformed {type}");
                break;
        }
    }

    /// <summary>The host found a frame length it cannot accept: the session is broken.</summary>
    public void OnMalformedFrame(long session, long nowMs) =>
        ProtocolError(session, _bySession.GetValueOrDefault(session), nowMs, ControlErrorCode.MalformedFrame, "bad frame length");

    /// <summary>The TLS session ended (closed by the peer, a network error, or after <see cref="ICoordinatorSink.Close"/>).</summary>
    public void OnDisconnected(long session, long nowMs)
    {
        if (_bySession.TryGetValue(session, out var peer))
        {
            Counters.Increment(CoordinatorCounter.PeersLeft);
            Leave(peer, nowMs);
        }
    }

    private void ProtocolError(long session, PeerState? peer, long nowMs, ControlErrorCode code, string text)
    {
        Counters.Increment(CoordinatorCounter.ProtocolErrors);
        Say(session, new ErrorMessage(code, text));
        _sink.Close(session);
        if (peer is not null) Leave(peer, nowMs);
    }

    private void Refuse(long session, CoordinatorCounter counter, ControlErrorCode code, string text)
    {
        Counters.Increment(counter);
        Say(session, new ErrorMessage(code, text));
        _sink.Close(session);
    }

    private void OnHello(long session, long nowMs, in HelloMessage hello)
    {
        Counters.Increment(CoordinatorCounter.HellosReceived);
        if (hello.MinVersion > ControlFrame.Version || hello.MaxVersion < ControlFrame.Version)
        {
            Refuse(session, CoordinatorCounter.HelloRejectedVersion, ControlErrorCode.VersionUnsupported, $"this coordinator speaks version {ControlFrame.Version}");
            return;
        }
        if (_options.Tokens is { } tokens && !TokenListed(tokens, hello.Token))
        {
            Refuse(session, CoordinatorCounter.HelloRejectedToken, ControlErrorCode.Unauthorized, "token not accepted");
            return;
        }
        _byIdentity.TryGetValue(hello.Identity, out var previous);
        if (previous is null && _peers.Count >= _options.MaxPeers)
        {
            Refuse(session, CoordinatorCounter.HelloRejectedFull, ControlErrorCode.CoordinatorFull, "too many peers");
            return;
        }

        int limit = (int)Math.Min(Math.Min(hello.Capacity, (uint)_options.MaxLeasesPerPeer), int.MaxValue);
        var peer = new PeerState(session, hello.Identity, hello.LocalAddress, hello.Capacity, hello.BandwidthKbps, limit, nowMs);
        if (Ipv4Classification.IsRfc1918(hello.LocalAddress))
        {
            uint suffix = _book.GetOrAssign(hello.Identity, out bool assigned);
            if (assigned) Counters.Increment(CoordinatorCounter.StaticAddressesAssigned);
            if (suffix == 0) Counters.Increment(CoordinatorCounter.StaticBookFull);
            else
            {
                peer.StaticSuffix = suffix;
                peer.StaticAddress = CoordinatorAddress.Static(_options.Address, hello.LocalAddress, suffix).ToIpv6();
            }
        }
        else Counters.Increment(CoordinatorCounter.NoStaticAddressNotPrivate);

        // The same identity again (a reconnect the old session has not noticed yet): the new session takes over.
        // The newcomer joins before the old one's leases are placed, so rendezvous hashing hands them back to it.
        if (previous is not null)
        {
            Counters.Increment(CoordinatorCounter.PeersSuperseded);
            Say(previous.Session, new GoodbyeMessage(GoodbyeReason.Superseded, "the same identity connected again"));
            _sink.Close(previous.Session);
            Detach(previous);
        }
        Attach(peer);
        Counters.Increment(CoordinatorCounter.PeersJoined);
        Say(session, new WelcomeMessage(ControlFrame.Version, _options.Address, _prefix, peer.StaticAddress, peer.StaticSuffix,
            (ushort)_options.LeaseIdleSeconds, (ushort)_options.KeepaliveSeconds, (ushort)_options.SessionTimeoutSeconds, (uint)limit));
        if (previous is not null) MoveLeases(previous, nowMs);
    }

    private static bool TokenListed(IReadOnlySet<string> tokens, string token)
    {
        // Compare against every token in constant time, so timing says nothing about how close a guess was.
        bool found = false;
        var offered = Encoding.UTF8.GetBytes(token);
        foreach (var t in tokens)
            found |= CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(t), offered);
        return found;
    }

    private void Attach(PeerState peer)
    {
        peer.Index = _peers.Count;
        _peers.Add(peer);
        _bySession[peer.Session] = peer;
        _byIdentity[peer.Identity] = peer;
        if (peer.StaticSuffix != 0) _bySuffix[peer.StaticSuffix] = peer;
        if (peer.LeaseLimit > 0)
        {
            if (!_weightClasses.TryGetValue(peer.Capacity, out var group)) _weightClasses[peer.Capacity] = group = [];
            peer.ClassIndex = group.Count;
            group.Add(peer);
        }
    }

    private void Detach(PeerState peer)
    {
        var last = _peers[^1];
        _peers[peer.Index] = last;
        last.Index = peer.Index;
        _peers.RemoveAt(_peers.Count - 1);
        _bySession.Remove(peer.Session);
        if (_byIdentity.TryGetValue(peer.Identity, out var p) && p == peer) _byIdentity.Remove(peer.Identity);
        if (peer.StaticSuffix != 0 && _bySuffix.TryGetValue(peer.StaticSuffix, out var s) && s == peer) _bySuffix.Remove(peer.StaticSuffix);
        if (peer.LeaseLimit > 0 && _weightClasses.TryGetValue(peer.Capacity, out var group))
        {
            var moved = group[^1];
            group[peer.ClassIndex] = moved;
            moved.ClassIndex = peer.ClassIndex;
            group.RemoveAt(group.Count - 1);
            if (group.Count == 0) _weightClasses.Remove(peer.Capacity);
        }
    }

    private void Leave(PeerState peer, long nowMs)
    {
        if (!_bySession.ContainsKey(peer.Session)) return;
        Detach(peer);
        MoveLeases(peer, nowMs);
    }

    /// <summary>
    /// Gives a departed peer's leases to the peers left (DESIGN.md §B.6), each with the relays it was bubbled
    /// from so the new owner can re-bubble them; a lease no peer can take is dropped.
    /// </summary>
    private void MoveLeases(PeerState gone, long nowMs)
    {
        _scratchLeases.Clear();
        foreach (uint d in gone.Leases) _scratchLeases.Add(_leases[d]);
        gone.Leases.Clear();
        foreach (var lease in _scratchLeases)
        {
            var owner = ChooseOwner(lease.Destination.Value);
            if (owner is null)
            {
                Counters.Increment(CoordinatorCounter.LeasesDroppedNoOwner);
                lease.Owner = gone; // Remove() detaches it from this (already cleared) set
                Remove(lease);
                continue;
            }
            lease.Owner = owner;
            owner.Leases.Add(lease.Destination.Value);
            Counters.Increment(CoordinatorCounter.LeasesMoved);
            Say(owner.Session, new LeaseGranted(lease.Address, RemainingSeconds(lease, nowMs), lease.Relays.ToArray()));
        }
    }

    private static ushort RemainingSeconds(Lease lease, long nowMs) =>
        (ushort)Math.Clamp((lease.ExpiresMs - nowMs + 999) / 1000, 1, ushort.MaxValue);

    private void OnUseReport(PeerState peer, long nowMs, ReadOnlySpan<byte> body)
    {
        Counters.Increment(CoordinatorCounter.UseReportsReceived);
        int count = body[LeaseUseReport.CountOffset];
        for (int i = 0; i < count; i++)
        {
            var use = LeaseUseReport.ReadEntry(body, i);
            if (!CoordinatorAddress.TryParse(use.Address, out var a, out _) || a.Coordinator != _options.Address
                || a.Kind != CoordinatorAddressKind.Dynamic || !_leases.TryGetValue(a.Embedded.Value, out var lease) || lease.Owner != peer)
            {
                if (!(a.Kind == CoordinatorAddressKind.Static && a.Suffix == peer.StaticSuffix))
                    Counters.Increment(CoordinatorCounter.UseReportEntriesForeign);
                continue;
            }
            if (use.Packets == 0) continue; // idle: the lease runs out on its own clock
            long lastUse = nowMs - Math.Min((long)use.IdleSeconds * 1000, _options.LeaseIdleSeconds * 1000L);
            if (lease.Proven && lastUse <= lease.LastUseMs) continue; // an older report than one already counted
            lease.LastUseMs = lastUse;
            lease.ExpiresMs = lastUse + _options.LeaseIdleSeconds * 1000L;
            if (!lease.Proven)
            {
                lease.Proven = true;
                if (lease.ProbationNode is { } node)
                {
                    _probation.Remove(node);
                    lease.ProbationNode = null;
                }
            }
            Counters.Increment(CoordinatorCounter.LeasesRenewed);
            Say(peer.Session, new LeaseRenewed(lease.Address, RemainingSeconds(lease, nowMs)));
        }
    }
}
