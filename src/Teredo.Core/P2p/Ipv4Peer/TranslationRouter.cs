using Teredo.Common;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>
/// The translator's sink in the IPv4 peer: IPv4 output goes to the TUN; IPv6 output (replies, hairpinned
/// packets, the ICMPv6 errors the translator originates) goes over UDP to the relay its destination was
/// last heard through, and only with a source this peer holds. One scratch buffer, reused per packet.
/// </summary>
internal sealed class TranslationRouter(Ipv4PeerEngine engine) : ITranslationSink
{
    // The translator may reserve room for a whole IPv4 packet of the TUN's MTU or an ICMP error.
    private readonly byte[] _scratch = new byte[65536];
    private IPacketSink? _sink;
    private long _nowMs;
    /// <summary>In 6→4, the held address the input was sent to: the source the relay accepts from us.</summary>
    private Ipv6Address _answeringFor;
    private bool _fromIpv6;

    public void Begin(IPacketSink sink, long nowMs, bool fromIpv6, Ipv6Address answeringFor)
    {
        _sink = sink;
        _nowMs = nowMs;
        _fromIpv6 = fromIpv6;
        _answeringFor = answeringFor;
    }

    public Span<byte> Reserve(int maxLength) => _scratch.AsSpan(0, Math.Min(maxLength, _scratch.Length));

    public void Commit(int length)
    {
        var packet = _scratch.AsSpan(0, length);
        if (length == 0) return;
        if (packet[0] >> 4 == 4)
        {
            engine.Count(Ipv4PeerCounter.ToTun);
            Forward(packet, PacketRoute.Tun, default);
            return;
        }
        if (!Ipv6Packet.TryParse(packet, out var ip)) return;
        var source = ip.Source;
        if (_fromIpv6 && !engine.IsHeld(source))
        {
            // An error the translator originated (from its own IPv6 address): a relay only accepts packets
            // from us with a source it mapped to our socket, i.e. the address the offending packet was sent to.
            ResourceError(packet, source, _answeringFor);
            source = _answeringFor;
            engine.Count(Ipv4PeerCounter.ErrorsResourced);
        }
        if (!engine.TryRouteReply(_nowMs, source, ip.Destination, length, out var relay)) return;
        engine.Count(Ipv4PeerCounter.ToRelay);
        Forward(packet, PacketRoute.Udp, relay);
    }

    private void Forward(ReadOnlySpan<byte> packet, PacketRoute route, Ipv4Endpoint to)
    {
        var output = _sink!.Reserve(packet.Length);
        packet.CopyTo(output);
        _sink.Commit(route, to, packet.Length);
    }

    /// <summary>Replaces the source of an ICMPv6 message without extension headers, updating its checksum (RFC 1624).</summary>
    private static void ResourceError(Span<byte> packet, Ipv6Address oldSource, Ipv6Address newSource)
    {
        newSource.Write(packet.Slice(Ipv6Packet.Field.Source));
        if (packet[Ipv6Packet.Field.NextHeader] != IpProtocol.Icmpv6 || packet.Length < Ipv6Packet.HeaderLength + 4) return;
        var checksum = packet.Slice(Ipv6Packet.HeaderLength + 2, 2);
        ushort old = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(checksum);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(checksum, Checksum.Update(old, Checksum.Sum(oldSource), Checksum.Sum(newSource)));
    }
}
