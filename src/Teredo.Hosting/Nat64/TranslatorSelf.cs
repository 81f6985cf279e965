using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Hosting.Nat64;

/// <summary>
/// Packets addressed to the translator itself (tayga.conf's ipv4-addr and ipv6-addr): Tayga answers
/// echo requests there, so a drop-in must too, and administrators ping it to check the path. Anything
/// else for those addresses is not for translation (translating it would only loop it back through
/// the TUN) and is dropped. RFC 7915 does not cover this, so it lives beside the translator, not in it.
/// </summary>
public static class TranslatorSelf
{
    private const byte ReplyHopLimit = 64;

    public enum Outcome { NotForUs, EchoAnswered, Dropped }

    public static Outcome FromIpv6(ReadOnlySpan<byte> packet, Ipv6Address self, ITranslationSink sink)
    {
        if (!Ipv6Packet.TryParse(packet, out var ip) || ip.Destination != self) return Outcome.NotForUs;
        var payload = ip.Payload;
        if (ip.NextHeader != IpProtocol.Icmpv6 || payload.Length < IcmpHeaderWriter.Length || payload[0] != Icmpv6Type.EchoRequest || payload[1] != 0)
            return Outcome.Dropped;
        var reply = sink.Reserve(ip.TotalLength)[..ip.TotalLength];
        ip.Bytes.CopyTo(reply);
        var header = new Ipv6PacketWriter(reply);
        header.Source = self;
        header.Destination = ip.Source;
        header.HopLimit = ReplyHopLimit;
        // Swapping the addresses leaves the pseudo-header sum alone; only the type word changes.
        Reply(new IcmpHeaderWriter(reply[Ipv6Packet.HeaderLength..]), Icmpv6Type.EchoRequest, Icmpv6Type.EchoReply);
        sink.Commit(reply.Length);
        return Outcome.EchoAnswered;
    }

    public static Outcome FromIpv4(ReadOnlySpan<byte> packet, Ipv4Address self, ITranslationSink sink)
    {
        if (!Ipv4Packet.TryParse(packet, out var ip) || ip.Destination != self) return Outcome.NotForUs;
        var payload = ip.Payload;
        if (ip.Protocol != IpProtocol.Icmp || ip.IsFragment || payload.Length < IcmpHeaderWriter.Length || payload[0] != Icmpv4Type.EchoRequest || payload[1] != 0)
            return Outcome.Dropped;
        var reply = sink.Reserve(Ipv4Header.Length + payload.Length);
        // A fresh option-less header: options of the request (record route and the like) are not echoed.
        new Ipv4Header(self, ip.Source, IpProtocol.Icmp, (ushort)payload.Length, ReplyHopLimit, ip.Identification, ip.DontFragment, ip.TypeOfService).Emit(reply);
        payload.CopyTo(reply[Ipv4Header.Length..]);
        var message = reply.Slice(Ipv4Header.Length, payload.Length);
        var icmp = new IcmpHeaderWriter(message);
        Reply(icmp, Icmpv4Type.EchoRequest, Icmpv4Type.EchoReply);
        // Without a pseudo-header an ICMPv4 reply can be all zeros, where eqn. 3 gives 0x0000 and a full sum 0xFFFF.
        icmp.Checksum = Checksum.FixAllZero(icmp.Checksum, message);
        sink.Commit(Ipv4Header.Length + payload.Length);
        return Outcome.EchoAnswered;
    }

    private static void Reply(IcmpHeaderWriter icmp, byte requestType, byte replyType)
    {
        icmp.Checksum = Checksum.Update(icmp.Checksum, (ulong)requestType << 8, (ulong)replyType << 8);
        icmp.Type = replyType;
    }
}
