using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Peers;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>
/// Packet reception (RFC 4380 §5.2.3). Every datagram ends in exactly one counter of
/// <see cref="ClientCounters.UdpOutcomes"/>. From the server: RAs go to qualification and maintenance,
/// indirect bubbles (with an origin indication) are answered with a direct bubble to the origin, other
/// packets are delivered. From anyone else the six cases of §5.2.3, in order, plus the answer to our own
/// nonce-bearing indirect bubble (see <see cref="NonceAddress"/>).
/// </summary>
public sealed partial class TeredoClientEngine
{
    /// <summary>A UDP datagram received on one of the client's sockets (<see cref="ClientPort"/>).</summary>
    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput sink)
    {
        Count(ClientCounter.UdpReceived);
        Count(Receive(nowMs, port, source, payload, sink));
    }

    private ClientCounter Receive(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput sink)
    {
        if (TeredoDatagram.TryParse(payload, out var datagram) != TeredoParseError.None) return ClientCounter.UdpDropMalformed;
        var ip = datagram.Ipv6;
        bool fromServer = source.Port == TeredoAddress.Port && (source.Address == _primary.Address || source.Address == _secondary.Address);
        if (port == ClientPort.Discovery) return ReceiveDiscoveryBubble(nowMs, source, ip, sink);
        if (port == ClientPort.Secondary) return ReceiveOnSecondaryPort(nowMs, source, fromServer, datagram, sink);
        // The probe socket exists for the cone probe's answer and nothing else.
        if (port == ClientPort.Probe)
            return fromServer && IsRouterAdvertisement(ip) ? HandleRouterAdvertisement(nowMs, port, source, datagram, sink) : ClientCounter.ProbePortDropped;
        if (fromServer && IsRouterAdvertisement(ip)) return HandleRouterAdvertisement(nowMs, port, source, datagram, sink);
        if (State != ClientState.Qualified) return ClientCounter.UdpDropNotQualified;
        // Router and neighbor discovery from anyone but our server would let a peer configure the host's stack.
        if (IsNeighborDiscovery(ip)) return ClientCounter.UdpDropNeighborDiscovery;

        var destination = ip.Destination;
        bool toAddress = destination == _address.Address;
        bool toUs = toAddress || destination == _linkLocal;
        // Only bubbles answer our nonce, so only they pay for the HMAC.
        bool toNonce = !toUs && ip.IsBubble && destination.IsLinkLocal && destination == NonceAddress(ip.Source);
        if (!toUs && !toNonce) return ClientCounter.UdpDropWrongDestination;
        if (fromServer) return ReceiveFromServer(nowMs, datagram, toUs, sink);
        return ReceiveFromPeer(nowMs, source, ip, toUs, sink);
    }

    private ClientCounter ReceiveFromServer(long nowMs, TeredoDatagram datagram, bool toUs, IPacketOutput sink)
    {
        _lastServerMs = nowMs;
        var ip = datagram.Ipv6;
        if (ip.IsBubble)
            return datagram.HasOrigin ? AnswerIndirectBubble(nowMs, ip.Source, datagram.Origin, sink) : ClientCounter.ServerBubbleIgnored;
        if (!toUs) return ClientCounter.UdpDropWrongDestination;
        Deliver(ip, sink);
        return ClientCounter.DeliveredFromServer;
    }

    /// <summary>
    /// Someone knocks through our server (the origin indication says from where): a direct bubble to the
    /// origin opens our NAT to it and tells it our mapping (§5.2.6, §5.4.1). Its destination is the
    /// knock's source, which for Miredo's relays and clients is their own nonce address.
    /// </summary>
    private ClientCounter AnswerIndirectBubble(long nowMs, Ipv6Address knocker, Ipv4Endpoint origin, IPacketOutput sink)
    {
        if (!Ipv4Classification.IsTeredoGlobalUnicast(origin.Address)) return ClientCounter.IndirectBubbleOriginNotGlobal;
        var peer = NewOrExistingPeer(knocker, nowMs);
        if (!peer.Trusted) peer.Mapped = origin;
        _peers.Touch(peer);
        if (!TryTakeBubble(peer, nowMs)) return ClientCounter.IndirectBubbleRateLimited;
        if (SendPeerBubble(sink, peer, origin, _address.Address, knocker)) Count(ClientCounter.DirectBubblesSent);
        return ClientCounter.IndirectBubbleAnswered;
    }

    private ClientCounter ReceiveFromPeer(long nowMs, Ipv4Endpoint source, Ipv6Packet ip, bool toUs, IPacketOutput sink)
    {
        var src = ip.Source;
        var peer = _peers.Find(src);
        // 1) A trusted entry whose mapping the packet came from.
        if (peer is { Trusted: true } && peer.Mapped == source)
        {
            Trust(peer, source, nowMs, sink);
            return Accept(ip, toUs, ClientCounter.DeliveredFromTrustedPeer, sink);
        }
        bool teredo = IsTeredo(src);
        // A proof teaches where to send; §5.2.4 sends to a non-global address only to a local peer (case 5).
        if (Ipv4Classification.IsTeredoGlobalUnicast(source.Address))
        {
            // 2) The answer to our direct IPv6 connectivity test (§5.2.9).
            if (peer is { Trusted: false, Nonce: not 0 } && IsEchoReplyWithNonce(ip, peer.Nonce))
            {
                Trust(peer, source, nowMs, sink);
                return ClientCounter.EchoTestAnswered;
            }
            // 3) A Teredo source whose embedded mapping is where the packet came from.
            if (teredo && new TeredoAddress(src).Mapped == source)
            {
                peer ??= NewOrExistingPeer(src, nowMs);
                Trust(peer, source, nowMs, sink);
                return Accept(ip, toUs, ClientCounter.DeliveredFromTeredoPeer, sink);
            }
            // A bubble to our nonce: the peer saw our indirect bubble, so this is its real mapping. It
            // re-maps a trusted peer too (a P2P lease moved to another IPv4 peer, DESIGN.md §B.6).
            if (teredo && !toUs && peer is not null)
            {
                Trust(peer, source, nowMs, sink);
                return ClientCounter.NonceBubbleAccepted;
            }
        }
        // 5) A local peer (§5.2.8) writing from its local address.
        if (teredo && peer is not null && IsLocal(peer, nowMs) && peer.LocalEndpoint == source)
        {
            Trust(peer, source, nowMs, sink);
            return Accept(ip, toUs, ClientCounter.DeliveredFromLocalPeer, sink);
        }
        // 6) Anything else may be accepted, but nothing will be sent back before the connectivity test.
        if (!Ipv4Classification.IsTeredoGlobalUnicast(source.Address)) Count(ClientCounter.SourceNotGlobalNotLearned);
        if (ip.IsBubble || !toUs) return ClientCounter.UdpDropUnverifiedBubble;
        if (!teredo && (peer is null || (!peer.Trusted && !peer.Pending)) && IsGlobalScope(src))
            StartConnectivityTest(src, nowMs, sink);
        Deliver(ip, sink);
        return ClientCounter.DeliveredUnverified;
    }

    /// <summary>Bubbles end here; other packets go to the interface.</summary>
    private static ClientCounter Accept(Ipv6Packet ip, bool toUs, ClientCounter delivered, IPacketOutput sink)
    {
        if (ip.IsBubble) return ClientCounter.BubbleFromPeer;
        if (!toUs) return ClientCounter.UdpDropWrongDestination;
        Deliver(ip, sink);
        return delivered;
    }

    /// <summary>The peer proved <paramref name="mapping"/>: trust it, and release what waited for it.</summary>
    private void Trust(Peer peer, Ipv4Endpoint mapping, long nowMs, IPacketOutput sink)
    {
        peer.Mapped = mapping;
        peer.Trusted = true;
        peer.LastReceiveMs = nowMs;
        peer.Nonce = 0;
        peer.Attempts = 0;
        peer.Bubbles.Clear();
        _peers.SetPending(peer, false);
        _peers.Touch(peer);
        while (_peers.TryDequeue(peer, out var queued))
        {
            SendUdp(sink, peer, peer.Mapped, queued.Bytes);
            PeerList.Release(queued);
            peer.LastTransmitMs = nowMs;
            Count(ClientCounter.QueueReleased);
        }
    }

    private static bool IsEchoReplyWithNonce(Ipv6Packet ip, ulong nonce) =>
        Icmpv6Packet.TryParse(ip, out var icmp) && Icmpv6Echo.TryParse(icmp, out var echo) && !echo.IsRequest
        && echo.TryReadNonce(out ulong received) && received == nonce
        && icmp.VerifyChecksum(ip.Source, ip.Destination);

    private static bool IsNeighborDiscovery(Ipv6Packet ip) =>
        Icmpv6Packet.TryParse(ip, out var icmp) && icmp.Type is >= Icmpv6Type.RouterSolicitation and <= Icmpv6Type.Redirect;

    private static bool IsGlobalScope(Ipv6Address a) => !a.IsLinkLocal && !a.IsMulticast && !a.IsUnspecified && !a.IsLoopback;

    /// <summary>The entry for <paramref name="address"/>; a new one starts as §5.2.3/§5.2.6 say: last heard from and written to 30 s ago.</summary>
    private Peer NewOrExistingPeer(Ipv6Address address, long nowMs)
    {
        var peer = _peers.GetOrAdd(address, nowMs, out bool created);
        if (created)
        {
            peer.LastReceiveMs = nowMs - PeerNotHeardMs;
            peer.LastTransmitMs = nowMs - PeerNotHeardMs;
            if (IsTeredo(address)) peer.Mapped = new TeredoAddress(address).Mapped;
        }
        return peer;
    }
}
