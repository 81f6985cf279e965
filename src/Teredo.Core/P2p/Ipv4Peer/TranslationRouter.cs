using Teredo.Common;
using Teredo.Engines;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>
/// The translator's sink in the IPv4 peer: IPv4 output goes to the TUN; IPv6 output (replies, hairpinned
/// packets, ICMPv6 errors) goes over UDP to the relay its destination was last heard through, and only
/// with a source this peer holds. One scratch buffer, reused per packet.
/// </summary>
/// <remarks>
/// A relay accepts packets from us only with a source it mapped to our socket, i.e. an address we hold.
/// Two kinds of ICMPv6 error come out of the translator with a source no relay mapped: those it originates
/// itself (from its own IPv6 address) and those translated from ICMPv4 errors of routers beyond this peer
/// (traceroute's time exceeded, a router's unreachable: source T(router), RFC 7915 §4.2). Both are
/// re-sourced from the destination of the packet they quote: the T(D) (or static address) the user sent to,
/// which the relay holds for this path. The router's own address is not shown to the user: as with RFC
/// 6791's pool addresses, the error stays useful (type, code, quoted probe) without a real source
/// (docs/v4peer.md, "Traceroute").
/// </remarks>
internal sealed class TranslationRouter(Ipv4PeerEngine engine) : ITranslationSink
{
    // The translator may reserve room for a whole IPv4 packet of the TUN's MTU or an ICMP error.
    private readonly byte[] _scratch = new byte[65536];
    private IPacketOutput? _sink;
    private long _nowMs;
    private bool _fromIpv6;

    public void Begin(IPacketOutput sink, long nowMs, bool fromIpv6)
    {
        _sink = sink;
        _nowMs = nowMs;
        _fromIpv6 = fromIpv6;
    }

    public Span<byte> Reserve(int maxLength) => _scratch.AsSpan(0, Math.Min(maxLength, _scratch.Length));

    public void Commit(int length)
    {
        var packet = _scratch.AsSpan(0, length);
        if (length == 0) return;
        if (IpVersion.Of(packet) == IpVersion.V4)
        {
            engine.Count(Ipv4PeerCounter.ToTun);
            packet.CopyTo(_sink!.Reserve(length));
            _sink.Write(Ipv4PeerEngine.TunDevice, length);
            return;
        }
        if (!Ipv6Packet.TryParse(packet, out var ip)) return;
        var source = ip.Source;
        if (!engine.IsHeld(source) && TryQuotedDestination(ip, out var quoted) && engine.IsHeld(quoted))
        {
            ResourceError(packet, source, quoted);
            source = quoted;
            engine.Count(_fromIpv6 ? Ipv4PeerCounter.ErrorsResourced : Ipv4PeerCounter.RouterErrorsResourced);
        }
        if (!engine.TryRouteReply(_nowMs, source, ip.Destination, length, out var relay)) return;
        engine.Count(Ipv4PeerCounter.ToRelay);
        packet.CopyTo(_sink!.Reserve(length));
        _sink.Send(Ipv4PeerEngine.UdpPort, relay, length);
    }

    /// <summary>The destination of the IPv6 packet an ICMPv6 error (no extension headers) quotes: the address its sender used.</summary>
    private static bool TryQuotedDestination(Ipv6Packet ip, out Ipv6Address quoted)
    {
        quoted = default;
        if (ip.NextHeader != IpProtocol.Icmpv6 || !IcmpHeader.TryParse(ip.Payload, out var icmp) || !Icmpv6Type.IsError(icmp.Type)) return false;
        // RFC 4443: 4 bytes of type-specific data after the checksum, then as much of the invoking packet as fits.
        if (!Ipv6Packet.TryParseQuoted(ip.Payload.Slice(IcmpHeader.Length), out var invoking)) return false;
        quoted = invoking.Destination;
        return true;
    }

    /// <summary>
    /// Replaces the source of an ICMPv6 error without extension headers (<see cref="TryQuotedDestination"/>
    /// accepted it, so its 8-byte header is there), updating its checksum (RFC 1624).
    /// </summary>
    private static void ResourceError(Span<byte> packet, Ipv6Address oldSource, Ipv6Address newSource)
    {
        new Ipv6PacketWriter(packet).Source = newSource;
        var icmp = new IcmpHeaderWriter(packet.Slice(Ipv6Packet.HeaderLength));
        icmp.Checksum = Checksum.UpdateAddress(icmp.Checksum, oldSource, newSource);
    }
}
