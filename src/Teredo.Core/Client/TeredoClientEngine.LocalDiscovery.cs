using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Peers;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>
/// The optional local client discovery procedure (RFC 4380 §5.2.8), off unless
/// <see cref="ClientOptions.LocalDiscovery"/>: a local bubble (our Teredo address to ff02::1, hop limit
/// 1) goes to the Teredo IPv4 discovery address 224.0.0.253:3544 on qualification and then every
/// 200-300 s; a local bubble received there (case 4 of §5.2.3) makes its sender a local peer, answered
/// with a unicast bubble, and packets to it then go straight over the link (cases 3 and 5).
/// Discovery bubbles are discarded unless they come from the local subnet, carry a well-formed Teredo
/// source with the same mapped IPv4 address as ours (the MAY of §5.2.8: a peer behind our NAT), and
/// arrived on the multicast socket.
/// </summary>
public sealed partial class TeredoClientEngine
{
    /// <summary>The Teredo IPv4 discovery address (RFC 4380 §2.17).</summary>
    public static readonly Ipv4Address DiscoveryAddress = new(224, 0, 0, 253);
    public static readonly Ipv4Endpoint DiscoveryEndpoint = new(DiscoveryAddress, TeredoAddress.Port);

    private long _nextDiscoveryMs = long.MaxValue;

    /// <summary>A new address is announced on the link at once.</summary>
    private void AnnounceOnLink(long nowMs, IPacketOutput sink)
    {
        _nextDiscoveryMs = nowMs;
        DiscoveryTimer(nowMs, sink);
    }

    private bool IsLocal(Peer peer, long nowMs) =>
        _options.LocalDiscovery && Elapsed(nowMs, peer.LocalDiscoveryMs) < _options.LocalPeerLifetimeMs;

    private void DiscoveryTimer(long nowMs, IPacketOutput sink)
    {
        if (!_options.LocalDiscovery || State != ClientState.Qualified || nowMs < _nextDiscoveryMs) return;
        SendDiscoveryBubble(sink);
        _nextDiscoveryMs = nowMs + _random.NextInRange(_options.DiscoveryIntervalMinMs, _options.DiscoveryIntervalMaxMs);
    }

    private void SendDiscoveryBubble(IPacketOutput sink)
    {
        if (!_options.LocalDiscovery || !HasAddress) return;
        SendBubble(sink, DiscoveryEndpoint, _address.Address, Ipv6Address.AllNodes, hopLimit: 1);
        Count(ClientCounter.DiscoveryBubblesSent);
    }

    private ClientCounter ReceiveDiscoveryBubble(long nowMs, Ipv4Endpoint source, Ipv6Packet ip, IPacketOutput sink)
    {
        var src = ip.Source;
        if (!_options.LocalDiscovery || State != ClientState.Qualified || !ip.IsBubble || ip.Destination != Ipv6Address.AllNodes
            || !IsTeredo(src) || src == _address.Address || _options.LocalNetwork is not { } lan
            || !source.Address.IsIn(lan.Network, lan.PrefixLength) || new TeredoAddress(src).MappedAddress != _mapped.Address)
            return ClientCounter.DiscoveryBubbleDropped;
        var peer = _peers.GetOrAdd(src, nowMs, out bool created);
        if (created)
        {
            // §5.2.8: last reception now, last transmission 30 s ago, not trusted.
            peer.LastReceiveMs = nowMs;
            peer.LastTransmitMs = nowMs - PeerNotHeardMs;
            peer.Mapped = new TeredoAddress(src).Mapped;
        }
        peer.LocalEndpoint = source;
        peer.LocalDiscoveryMs = nowMs;
        _peers.Touch(peer);
        // §5.2.3 case 4: answer with a unicast bubble to where the discovery bubble came from.
        if (TryTakeBubble(peer, nowMs) && SendPeerBubble(sink, peer, source, _address.Address, src)) Count(ClientCounter.LocalBubblesSent);
        return ClientCounter.DiscoveryBubbleAccepted;
    }
}
