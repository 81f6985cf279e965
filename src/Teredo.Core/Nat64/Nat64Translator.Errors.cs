using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Nat64;

// The ICMP errors the translator originates itself, rate-limited.
public sealed partial class Nat64Translator
{
    /// <summary>
    /// An ICMPv6 error from TranslatorIpv6 back to the source of <paramref name="offending"/>, quoting as
    /// much of it as fits in 1280 bytes. Never about an ICMPv6 error, to a multicast/unspecified source, or (but
    /// for the exceptions below) about a packet sent to a multicast group (RFC 4443 §2.4).
    /// </summary>
    private void SendIcmpv6Error(long nowMs, ReadOnlySpan<byte> offending, byte type, byte code, uint rest, ITranslationSink sink)
    {
        if (!Ipv6Packet.TryParseQuoted(offending, out var about)) return;
        var target = about.Source;
        if (target.IsMulticast || target.IsUnspecified || _options.TranslatorIpv6.IsUnspecified) return;
        // RFC 4443 §2.4 (e.3): about a packet sent to a group, only Packet Too Big and Parameter Problem code 2.
        if (about.Destination.IsMulticast && type != Icmpv6Type.PacketTooBig && !(type == Icmpv6Type.ParameterProblem && code == 2)) return;
        if (Ipv6ExtensionHeaders.TryWalk(offending, out var ext, truncatedOk: true) && ext.UpperProtocol == IpProtocol.Icmpv6
            && ext.UpperOffset < offending.Length && IcmpTranslation.IsIcmpv6Error(offending.Slice(ext.UpperOffset))) return;
        if (!TakeErrorToken(nowMs)) return;
        int quoted = Math.Min(offending.Length, MaxIcmpv6ErrorLength - Ipv6Packet.HeaderLength - IcmpHeaderWriter.Length);
        int messageLength = IcmpHeaderWriter.Length + quoted;
        Span<byte> output = sink.Reserve(Ipv6Packet.HeaderLength + messageLength);
        var header = new Ipv6PacketWriter(output);
        header.SetVersionClassFlow(0, 0);
        header.PayloadLength = (ushort)messageLength;
        header.NextHeader = IpProtocol.Icmpv6;
        header.HopLimit = Ipv6Header.DefaultHopLimit;
        header.Source = _options.TranslatorIpv6;
        header.Destination = target;
        Span<byte> message = output.Slice(Ipv6Packet.HeaderLength, messageLength);
        var icmp = new IcmpHeaderWriter(message);
        icmp.Type = type;
        icmp.Code = code;
        icmp.Rest = rest;
        offending.Slice(0, quoted).CopyTo(message.Slice(IcmpHeaderWriter.Length));
        Icmpv6Packet.FillChecksum(message, _options.TranslatorIpv6, target);
        sink.Commit(Ipv6Packet.HeaderLength + messageLength);
        Counters.Increment(Nat64Counter.Icmpv6ErrorsSent);
    }

    /// <summary>
    /// An ICMPv4 error from TranslatorIpv4 back to the source of <paramref name="offending"/>, at most 576
    /// bytes. Never about an ICMP error, a later fragment, a packet sent to a multicast or the limited broadcast
    /// address, or to a broadcast/multicast source (RFC 1812 §4.3.2.7).
    /// </summary>
    private void SendIcmpv4Error(long nowMs, ReadOnlySpan<byte> offending, byte type, byte code, uint rest, ITranslationSink sink)
    {
        if (!Ipv4Packet.TryParseQuoted(offending, out var about)) return;
        var target = about.Source;
        if (_options.TranslatorIpv4 == Ipv4Address.Any || target == Ipv4Address.Any || target.Value >> 28 >= 0xE) return;
        var destination = about.Destination;
        if (destination.Value >> 28 == 0xE || destination.Value == uint.MaxValue) return;
        if (about.FragmentOffset != 0) return;
        if (about.Protocol == IpProtocol.Icmp && IcmpTranslation.IsIcmpv4Error(about.Payload)) return;
        if (!TakeErrorToken(nowMs)) return;
        int quoted = Math.Min(offending.Length, MaxIcmpv4ErrorLength - Ipv4Packet.MinHeaderLength - IcmpHeaderWriter.Length);
        int messageLength = IcmpHeaderWriter.Length + quoted;
        int length = Ipv4Packet.MinHeaderLength + messageLength;
        Span<byte> output = sink.Reserve(length);
        var header = new Ipv4PacketWriter(output);
        header.HeaderLength = Ipv4Packet.MinHeaderLength;
        header.TypeOfService = 0;
        header.TotalLength = (ushort)length;
        header.Identification = NextIdentification();
        header.SetFragment(false, false, 0);
        header.Ttl = 64;
        header.Protocol = IpProtocol.Icmp;
        header.Source = _options.TranslatorIpv4;
        header.Destination = target;
        header.FillChecksum();
        Span<byte> message = output.Slice(Ipv4Packet.MinHeaderLength, messageLength);
        var icmp = new IcmpHeaderWriter(message);
        icmp.Type = type;
        icmp.Code = code;
        icmp.Checksum = 0;
        icmp.Rest = rest;
        offending.Slice(0, quoted).CopyTo(message.Slice(IcmpHeaderWriter.Length));
        icmp.Checksum = Checksum.Compute(message);
        sink.Commit(length);
        Counters.Increment(Nat64Counter.Icmpv4ErrorsSent);
    }
}
