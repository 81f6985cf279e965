using System.Buffers.Binary;
using System.Security.Cryptography;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Peers;
using Teredo.Wire;

namespace Teredo.Relay;

/// <summary>
/// The Teredo relay of RFC 4380 §5.4 as a sans-I/O engine. IPv6 packets for Teredo clients come in from
/// the TUN side (<see cref="TunDevice"/>) and leave over UDP (<see cref="UdpPort"/>); Teredo packets come in
/// over UDP and leave on the TUN side. Output goes to an <see cref="IPacketOutput"/>; the only timers are
/// the bubble retransmissions and give-ups of peers waiting for a proof, and <see cref="NextDeadlineMs"/>
/// says when the earliest of them is due.
///
/// Beyond the RFC it accepts, as Miredo's relay does, a bubble that answers its own indirect bubble
/// even when the UDP source differs from the mapping embedded in the sender's Teredo address: the
/// indirect bubble's link-local source carries a keyed per-destination nonce, and a reply addressed to
/// that nonce proves it saw our bubble. The relay then learns the real mapping. The P2P NAT64 network
/// (DESIGN.md §B.2) relies on this: its IPv4 peers answer from a socket that is not the embedded one.
/// </summary>
public sealed class TeredoRelayEngine : IPacketEngine
{
    /// <summary>The relay's one UDP socket (the Teredo port of §5.4).</summary>
    public static readonly PortHandle UdpPort = new(0);
    /// <summary>The relay's TUN interface, which owns the Teredo prefix.</summary>
    public static readonly DeviceHandle TunDevice = new(0);

    private readonly RelayOptions _options;
    private readonly PeerList _peers;
    private readonly TokenBucket? _newPeers;
    /// <summary>
    /// No later than the earliest <see cref="Peer.NextBubbleMs"/> of a pending peer: lowered whenever a bubble
    /// goes out, made exact by <see cref="OnTimer"/>'s walk. A peer that leaves the pending list early (an
    /// answer, an eviction) may leave it too early, which costs one empty wake-up, never a late bubble;
    /// keeping it exact on every answer would cost a walk per packet.
    /// </summary>
    private long _nextBubbleMs = long.MaxValue;

    public TeredoRelayEngine(RelayOptions options)
    {
        options.Validate();
        _options = options;
        _peers = new PeerList(options.PeerCapacity, options.MaxQueuedPerPeer, options.MaxQueuedBytes);
        if (options.NewPeerRate > 0) _newPeers = new TokenBucket(options.NewPeerRate, 2 * options.NewPeerRate);
    }

    public RelayCounters Counters { get; } = new();
    public PeerList Peers => _peers;
    public RelayOptions Options => _options;

    /// <inheritdoc/>
    public long NextDeadlineMs => _nextBubbleMs;

    /// <summary>An IPv6 packet the kernel routed into the relay's interface (it has one, <see cref="TunDevice"/>).</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput sink)
    {
        Counters.Increment(RelayCounter.TunReceived);
        if (!Ipv6Packet.TryParse(packet, out var ip) || ip.TotalLength != packet.Length)
        {
            Counters.Increment(RelayCounter.TunDropMalformed);
            return;
        }
        var destination = ip.Destination;
        if (!TeredoAddress.IsTeredo(destination, _options.ServicePrefix))
        {
            Counters.Increment(RelayCounter.TunDropNotTeredo);
            return;
        }
        // A host-specific relay carries only its own host's traffic, even where the host forwards.
        if (_options.ServedAddresses is { } served && !served.Contains(ip.Source))
        {
            Counters.Increment(RelayCounter.TunDropSourceNotServed);
            return;
        }
        var teredo = new TeredoAddress(destination);
        var peer = _peers.Find(destination);
        if (peer is null && _newPeers is not null && !_newPeers.TryTake(nowMs))
        {
            Counters.Increment(RelayCounter.TunDropNewPeerRateLimited);
            return;
        }
        // Case 1: a trusted, still valid entry. Its mapping passed the global check when it was learned.
        if (peer is { Trusted: true } && nowMs - peer.LastReceiveMs < _options.TrustLifetimeMs)
        {
            SendUdp(sink, peer.Mapped, packet);
            peer.LastTransmitMs = nowMs;
            _peers.Touch(peer);
            Counters.Increment(RelayCounter.SentToTrustedPeer);
            return;
        }
        // Case 2: a cone peer is reachable at its embedded mapping without a bubble, if that mapping is
        // one we may send to; otherwise it goes through its server like any non-cone peer.
        if (teredo.Flags.IsCone && !_options.IgnoreConeBit && (peer is null || peer.Mapped == teredo.Mapped))
        {
            if (Ipv4Classification.IsTeredoGlobalUnicast(teredo.MappedAddress))
            {
                peer ??= _peers.GetOrAdd(destination, nowMs, out _);
                peer.Mapped = teredo.Mapped;
                peer.Trusted = true;
                peer.LastReceiveMs = nowMs;
                peer.LastTransmitMs = nowMs;
                _peers.Touch(peer);
                SendUdp(sink, peer.Mapped, packet);
                Counters.Increment(RelayCounter.SentToConePeer);
                return;
            }
            Counters.Increment(RelayCounter.ConeMappingNotGlobal);
        }
        // Case 3: queue and knock through the peer's server, which is where the indirect bubble goes.
        if (!Ipv4Classification.IsTeredoGlobalUnicast(teredo.Server))
        {
            Counters.Increment(RelayCounter.TunDropServerNotGlobal);
            return;
        }
        peer ??= NewPeer(destination, teredo, nowMs);
        _peers.Touch(peer);
        if (_peers.TryEnqueue(peer, packet)) Counters.Increment(RelayCounter.Queued);
        else Counters.Increment(RelayCounter.TunDropQueueFull);
        if (peer.Pending is false)
        {
            // A stale trusted entry keeps its learned mapping for the direct bubble.
            peer.Trusted = false;
            peer.BubblesSent = 0;
            _peers.SetPending(peer, true);
            SendBubbles(peer, teredo, nowMs, sink);
        }
    }

    private Peer NewPeer(Ipv6Address destination, TeredoAddress teredo, long nowMs)
    {
        var peer = _peers.GetOrAdd(destination, nowMs, out _);
        peer.Mapped = teredo.Mapped;
        return peer;
    }

    /// <summary>A UDP datagram received on the relay's Teredo port (it has one, <see cref="UdpPort"/>).</summary>
    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput sink)
    {
        Counters.Increment(RelayCounter.UdpReceived);
        if (TeredoDatagram.TryParse(payload, out var datagram) != TeredoParseError.None)
        {
            Counters.Increment(RelayCounter.UdpDropMalformed);
            return;
        }
        var ip = datagram.Ipv6;
        var src = ip.Source;
        if (!TeredoAddress.IsTeredo(src, _options.ServicePrefix))
        {
            Counters.Increment(RelayCounter.UdpDropSourceNotTeredo);
            return;
        }
        var peer = _peers.Find(src);
        // A trusted peer writing from its mapping needs no more proof: that mapping passed the checks below
        // (or case 2's) when it was learned. Everything else proves a mapping, which must be one we may send to.
        if (peer is not { Trusted: true } || peer.Mapped != source)
        {
            // A peer's Mapped is its embedded mapping or one it already proved, so either match is proof.
            bool proven = new TeredoAddress(src).Mapped == source || (peer is not null && peer.Mapped == source);
            if (!proven)
            {
                // The Miredo-compatible exception: an answer to our own nonce-bearing indirect bubble. It
                // re-maps a peer that is already trusted too, so that a P2P lease moved to another IPv4
                // peer takes the flow in one round trip (DESIGN.md §B.6).
                if (peer is not null && ip.Destination.IsLinkLocal && ip.Destination == NonceAddress(src))
                {
                    Counters.Increment(RelayCounter.MismatchAcceptedByNonce);
                }
                else
                {
                    Counters.Increment(RelayCounter.UdpDropMappingMismatch);
                    return;
                }
            }
            // The proven mapping is where data will go: never learn one we may not send to.
            if (!Ipv4Classification.IsTeredoGlobalUnicast(source.Address))
            {
                Counters.Increment(RelayCounter.UdpDropSourceNotGlobal);
                return;
            }
        }

        peer ??= _peers.GetOrAdd(src, nowMs, out _);
        peer.Mapped = source;
        peer.Trusted = true;
        peer.LastReceiveMs = nowMs;
        peer.BubblesSent = 0;
        _peers.SetPending(peer, false);
        if (_peers.Pending.Count == 0) _nextBubbleMs = long.MaxValue;
        _peers.Touch(peer);
        while (_peers.TryDequeue(peer, out var queued))
        {
            SendUdp(sink, peer.Mapped, queued.Bytes);
            PeerList.Release(queued);
            peer.LastTransmitMs = nowMs;
            Counters.Increment(RelayCounter.QueueReleased);
        }

        if (ip.IsBubble)
        {
            Counters.Increment(RelayCounter.BubblesReceived);
            return;
        }
        if (!Serves(ip.Destination))
        {
            Counters.Increment(RelayCounter.UdpDropDestinationNotServed);
            return;
        }
        var buffer = sink.Reserve(ip.TotalLength);
        ip.Bytes.CopyTo(buffer);
        sink.Write(TunDevice, ip.TotalLength);
        Counters.Increment(RelayCounter.ForwardedToTun);
    }

    /// <summary>Bubble retransmissions and give-ups, for every pending peer that is due; recomputes the deadline.</summary>
    public void OnTimer(long nowMs, IPacketOutput sink)
    {
        var pending = _peers.Pending;
        long next = long.MaxValue;
        // Backwards: a give-up swap-removes the current entry, moving one already visited into its place.
        for (int i = pending.Count - 1; i >= 0; i--)
        {
            var peer = pending[i];
            if (nowMs >= peer.NextBubbleMs)
            {
                if (peer.BubblesSent > _options.BubbleRetries)
                {
                    GiveUp(peer, sink);
                    continue;
                }
                SendBubbles(peer, new TeredoAddress(peer.Address), nowMs, sink);
            }
            next = Math.Min(next, peer.NextBubbleMs);
        }
        _nextBubbleMs = next;
    }

    /// <summary>
    /// The indirect bubble (its server was checked before the peer was queued) and, behind a NAT, the
    /// direct one, but only toward a global mapping: the one a T(D) of the P2P plan embeds is meaningless.
    /// </summary>
    private void SendBubbles(Peer peer, TeredoAddress teredo, long nowMs, IPacketOutput sink)
    {
        var nonce = NonceAddress(peer.Address);
        if (SendBubble(sink, new Ipv4Endpoint(teredo.Server, TeredoAddress.Port), nonce, peer.Address))
            Counters.Increment(RelayCounter.IndirectBubblesSent);
        if (_options.BehindNat)
        {
            if (!Ipv4Classification.IsTeredoGlobalUnicast(peer.Mapped.Address))
                Counters.Increment(RelayCounter.DirectBubblesSkippedNotGlobal);
            else if (SendBubble(sink, peer.Mapped, nonce, peer.Address))
                Counters.Increment(RelayCounter.DirectBubblesSent);
        }
        peer.BubblesSent++;
        peer.NextBubbleMs = nowMs + _options.BubbleIntervalMs;
        _nextBubbleMs = Math.Min(_nextBubbleMs, peer.NextBubbleMs);
    }

    private void GiveUp(Peer peer, IPacketOutput sink)
    {
        Counters.Increment(RelayCounter.PeersGivenUp);
        while (_peers.TryDequeue(peer, out var queued))
        {
            if (_options.OwnAddress is { } own && Ipv6Packet.TryParse(queued.Bytes, out var original) && !original.Source.IsMulticast
                && !original.Source.IsUnspecified && !IsIcmpError(original))
            {
                var buffer = sink.Reserve(Icmpv6DestinationUnreachable.MaxPacketLength);
                int n = Icmpv6DestinationUnreachable.Emit(buffer, own, original.Source, UnreachableCode.AddressUnreachable, queued.Bytes);
                sink.Write(TunDevice, n);
                Counters.Increment(RelayCounter.UnreachableSent);
            }
            else
            {
                Counters.Increment(RelayCounter.QueuedDroppedOnGiveUp);
            }
            PeerList.Release(queued);
        }
        _peers.Remove(peer);
    }

    /// <summary>RFC 4443 §2.4: never answer an ICMPv6 error with another.</summary>
    private static bool IsIcmpError(Ipv6Packet packet) =>
        Icmpv6Packet.TryParse(packet, out var icmp) && Icmpv6Type.IsError(icmp.Type);

    private bool Serves(Ipv6Address destination)
    {
        if (destination.IsLinkLocal || destination.IsMulticast || destination.IsUnspecified || destination.IsLoopback) return false;
        if (_options.ServedAddresses is { } served) return served.Contains(destination);
        return !TeredoAddress.IsTeredo(destination, _options.ServicePrefix);
    }

    /// <summary>fe80::/64 with 64 bits of HMAC-SHA256(key, destination): unguessable, and the same for every bubble to one peer.</summary>
    public Ipv6Address NonceAddress(Ipv6Address destination)
    {
        Span<byte> input = stackalloc byte[16];
        Span<byte> mac = stackalloc byte[32];
        destination.Write(input);
        HMACSHA256.HashData(_options.NonceKey, input, mac);
        return new Ipv6Address(0xFE80_0000_0000_0000, BinaryPrimitives.ReadUInt64BigEndian(mac));
    }

    /// <summary>
    /// Every datagram leaves through here or <see cref="SendBubble"/>: the last guard of RFC 4380
    /// §5.4.1's rule that a relay never sends to a non-global IPv4 address. The decisions above make
    /// sure it never fires; <see cref="RelayCounter.SendRefusedNotGlobal"/> would show it if one did.
    /// </summary>
    private bool SendUdp(IPacketOutput sink, Ipv4Endpoint to, ReadOnlySpan<byte> packet)
    {
        if (!MaySendTo(to)) return false;
        var buffer = sink.Reserve(packet.Length);
        packet.CopyTo(buffer);
        sink.Send(UdpPort, to, packet.Length);
        return true;
    }

    private bool SendBubble(IPacketOutput sink, Ipv4Endpoint to, Ipv6Address source, Ipv6Address destination)
    {
        if (!MaySendTo(to)) return false;
        var buffer = sink.Reserve(Bubble.Length);
        Bubble.Emit(buffer, source, destination);
        sink.Send(UdpPort, to, Bubble.Length);
        return true;
    }

    private bool MaySendTo(Ipv4Endpoint to)
    {
        if (Ipv4Classification.IsTeredoGlobalUnicast(to.Address)) return true;
        Counters.Increment(RelayCounter.SendRefusedNotGlobal);
        return false;
    }
}
