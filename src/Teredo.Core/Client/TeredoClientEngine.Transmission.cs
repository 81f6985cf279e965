using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Peers;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>
/// Packet transmission (RFC 4380 §5.2.4) with the bubble rules of §5.2.6 and the direct IPv6
/// connectivity test of §5.2.9. Every packet from the interface ends in exactly one counter of
/// <see cref="ClientCounters.TunOutcomes"/>. Packets waiting for a peer's proof sit in its bounded queue;
/// the timer repeats bubbles and echoes every 2 s, three times, then gives up and answers the queued
/// packets with ICMPv6 address unreachable.
/// </summary>
public sealed partial class TeredoClientEngine
{
    /// <summary>An IPv6 packet the host's stack routed into the Teredo interface (it has one, <see cref="TunDevice"/>).</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput sink)
    {
        Count(ClientCounter.TunReceived);
        Count(Transmit(nowMs, packet, sink));
    }

    private ClientCounter Transmit(long nowMs, ReadOnlySpan<byte> packet, IPacketOutput sink)
    {
        if (!Ipv6Packet.TryParse(packet, out var ip) || ip.TotalLength != packet.Length) return ClientCounter.TunDropMalformed;
        if (State != ClientState.Qualified) return ClientCounter.TunDropNotQualified;
        var destination = ip.Destination;
        // Multicast (MLD, ND), link-local and the like have no Teredo meaning.
        if (!IsGlobalScope(destination)) return ClientCounter.TunDropNotUnicast;
        if (ip.Source != _address.Address) return ClientCounter.TunDropSourceNotOurs;

        var peer = _peers.Find(destination);
        // 1) A trusted entry heard from in the last 30 s.
        if (peer is { Trusted: true } && Elapsed(nowMs, peer.LastReceiveMs) < _options.TrustLifetimeMs)
        {
            SendUdp(sink, peer, peer.Mapped, packet);
            peer.LastTransmitMs = nowMs;
            _peers.Touch(peer);
            return ClientCounter.SentToTrustedPeer;
        }
        if (!IsTeredo(destination))
        {
            // 2) A native (or 6to4) destination: queue and run the connectivity test.
            peer ??= NewOrExistingPeer(destination, nowMs);
            return QueueAndKnock(peer, packet, nowMs, sink);
        }
        // 3) A local peer (a discovery bubble came from it in the last 600 s).
        if (peer is not null && IsLocal(peer, nowMs)) return QueueAndKnock(peer, packet, nowMs, sink);

        var teredo = new TeredoAddress(destination);
        // 4) A cone peer takes packets at its mapping without a bubble, if §5.2.4 lets us send there;
        //    otherwise it is reached as in case 5, through its server.
        if (teredo.Flags.IsCone && !_options.IgnoreConeBit)
        {
            if (Ipv4Classification.IsTeredoGlobalUnicast(teredo.MappedAddress))
            {
                SendUdp(sink, null, teredo.Mapped, packet);
                return ClientCounter.SentToConePeer;
            }
            Count(ClientCounter.ConeMappingNotGlobal);
        }
        // 5) A non-cone peer: queue, bubble directly and through its server, which must be global unicast.
        //    The embedded mapping may be meaningless (T(D) of the P2P plan): the answer to the indirect bubble tells where the peer is.
        if (!Ipv4Classification.IsTeredoGlobalUnicast(teredo.Server)) return ClientCounter.TunDropServerNotGlobal;
        peer ??= NewOrExistingPeer(destination, nowMs);
        if (!peer.Pending && BubbleLimitReached(peer, nowMs)) return ClientCounter.TunDropBubbleLimit;
        return QueueAndKnock(peer, packet, nowMs, sink);
    }

    private ClientCounter QueueAndKnock(Peer peer, ReadOnlySpan<byte> packet, long nowMs, IPacketOutput sink)
    {
        _peers.Touch(peer);
        if (!_peers.TryEnqueue(peer, packet)) return ClientCounter.TunDropQueueFull;
        if (!peer.Pending)
        {
            // A stale trusted entry keeps its mapping until the new proof replaces it.
            peer.Trusted = false;
            peer.Attempts = 0;
            _peers.SetPending(peer, true);
            Knock(peer, nowMs, sink);
        }
        return ClientCounter.Queued;
    }

    /// <summary>§5.2.3 case 6: an unproven native source gets the connectivity test before we send to it.</summary>
    private void StartConnectivityTest(Ipv6Address address, long nowMs, IPacketOutput sink)
    {
        var peer = NewOrExistingPeer(address, nowMs);
        _peers.Touch(peer);
        peer.Trusted = false;
        peer.Attempts = 0;
        _peers.SetPending(peer, true);
        Knock(peer, nowMs, sink);
    }

    private void PeerTimer(long nowMs, IPacketOutput sink)
    {
        var pending = _peers.Pending;
        // Backwards: Knock may give up, which swap-removes the current entry only.
        for (int i = pending.Count - 1; i >= 0; i--)
        {
            if (i >= pending.Count) continue;
            var peer = pending[i];
            if (nowMs >= peer.NextBubbleMs) Knock(peer, nowMs, sink);
        }
        RecomputeNextKnock();
    }

    /// <summary>One attempt of the exchange that proves a pending peer: an echo for native peers, bubbles for Teredo ones.</summary>
    private void Knock(Peer peer, long nowMs, IPacketOutput sink)
    {
        if (State != ClientState.Qualified || peer.Attempts > _options.Retries)
        {
            GiveUp(peer, sink);
            return;
        }
        if (!IsTeredo(peer.Address))
        {
            SendEcho(peer, nowMs, sink);
        }
        else
        {
            if (BubbleLimitReached(peer, nowMs))
            {
                GiveUp(peer, sink);
                return;
            }
            // §5.2.6: not within 2 s of the last transmission to this peer; try again when allowed.
            long wait = _options.RetryIntervalMs - Elapsed(nowMs, peer.LastTransmitMs);
            if (wait > 0)
            {
                ScheduleKnock(peer, nowMs + wait);
                return;
            }
            if (IsLocal(peer, nowMs)) SendLocalBubbles(peer, sink);
            else SendPeerBubbles(peer, sink);
            peer.Bubbles.Add(nowMs);
            peer.BubblesSent++;
            peer.LastTransmitMs = nowMs;
        }
        peer.Attempts++;
        ScheduleKnock(peer, nowMs + _options.RetryIntervalMs);
    }

    private bool BubbleLimitReached(Peer peer, long nowMs) =>
        peer.Bubbles.CountSince(nowMs - _options.BubbleWindowMs + 1) >= _options.BubbleLimit;

    /// <summary>§5.2.6 for a single bubble: spacing and the windowed limit; records it when allowed.</summary>
    private bool TryTakeBubble(Peer peer, long nowMs)
    {
        if (Elapsed(nowMs, peer.LastTransmitMs) < _options.RetryIntervalMs || BubbleLimitReached(peer, nowMs)) return false;
        peer.Bubbles.Add(nowMs);
        peer.BubblesSent++;
        peer.LastTransmitMs = nowMs;
        return true;
    }

    /// <summary>
    /// Case 5: a direct bubble to the peer's mapping (it opens our NAT to the peer; sent whatever
    /// our NAT, as §5.2.4 allows) and an indirect one through the peer's server, from our nonce address.
    /// The direct bubble goes only to a global mapping; the indirect one finds the peer anyway.
    /// </summary>
    private void SendPeerBubbles(Peer peer, IPacketOutput sink)
    {
        var teredo = new TeredoAddress(peer.Address);
        // Where the peer was last proven to be (a nonce answer from a symmetric NAT), else its embedded mapping.
        var direct = Ipv4Classification.IsTeredoGlobalUnicast(peer.Mapped.Address) ? peer.Mapped : teredo.Mapped;
        if (!Ipv4Classification.IsTeredoGlobalUnicast(direct.Address)) Count(ClientCounter.DirectBubblesSkippedNotGlobal);
        else if (SendPeerBubble(sink, peer, direct, _address.Address, peer.Address)) Count(ClientCounter.DirectBubblesSent);
        if (SendPeerBubble(sink, peer, new Ipv4Endpoint(teredo.Server, TeredoAddress.Port), NonceAddress(peer.Address), peer.Address))
            Count(ClientCounter.IndirectBubblesSent);
    }

    /// <summary>Case 3: a unicast bubble to the local peer's local address and a local bubble to the discovery address.</summary>
    private void SendLocalBubbles(Peer peer, IPacketOutput sink)
    {
        if (SendPeerBubble(sink, peer, peer.LocalEndpoint, _address.Address, peer.Address)) Count(ClientCounter.LocalBubblesSent);
        SendDiscoveryBubble(sink);
    }

    /// <summary>§5.2.9: an echo request carrying a random 64-bit nonce, to the peer through our server.</summary>
    private void SendEcho(Peer peer, long nowMs, IPacketOutput sink)
    {
        if (peer.Nonce == 0) peer.Nonce = _random.NextNonZero();
        Span<byte> data = stackalloc byte[Icmpv6Echo.NonceLength];
        Icmpv6Echo.WriteNonce(data, peer.Nonce);
        var buffer = sink.Reserve(Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength + data.Length);
        int length = Icmpv6Echo.Emit(buffer, _address.Address, peer.Address, request: true, _echoIdentifier, (ushort)peer.Attempts, data);
        sink.Send(ClientPort.Service, _primary, length);
        peer.LastTransmitMs = nowMs;
        Count(ClientCounter.EchoTestsSent);
    }

    /// <summary>The exchange failed: queued packets get ICMPv6 address unreachable (from the server's link-local address, the "router").</summary>
    private void GiveUp(Peer peer, IPacketOutput sink)
    {
        Count(ClientCounter.PeersGivenUp);
        while (_peers.TryDequeue(peer, out var queued))
        {
            if (HasAddress && Ipv6Packet.TryParse(queued.Bytes, out var original) && IsGlobalScope(original.Source) && !IsIcmpError(original))
            {
                var buffer = sink.Reserve(Icmpv6DestinationUnreachable.MaxPacketLength);
                int n = Icmpv6DestinationUnreachable.Emit(buffer, _serverLinkLocal, original.Source, UnreachableCode.AddressUnreachable, queued.Bytes);
                sink.Write(TunDevice, n);
                Count(ClientCounter.UnreachableSent);
            }
            else
            {
                Count(ClientCounter.QueuedDroppedOnGiveUp);
            }
            PeerList.Release(queued);
        }
        peer.Attempts = 0;
        peer.Nonce = 0;
        _peers.SetPending(peer, false);
        // A Teredo peer's entry stays, so that its bubble history keeps §5.2.6's limit; a native one has nothing worth keeping.
        if (!IsTeredo(peer.Address)) _peers.Remove(peer);
    }

    /// <summary>RFC 4443 §2.4: never answer an ICMPv6 error with another.</summary>
    private static bool IsIcmpError(Ipv6Packet packet) => Icmpv6Packet.TryParse(packet, out var icmp) && Icmpv6Type.IsError(icmp.Type);
}
