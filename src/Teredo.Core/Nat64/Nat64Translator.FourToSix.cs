using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Nat64;

// RFC 7915 §4: IPv4 → IPv6.
public sealed partial class Nat64Translator
{
    /// <param name="hairpin">
    /// Second half of a hairpin (RFC 7757 §4.2): the packet came from the IPv6 side and was just
    /// translated to IPv4, so its TTL is already decremented and its source (and the destination of a
    /// packet inside an ICMP error) is shown under pool6, not the EAM entry it belongs to.
    /// </param>
    private Nat64Counter Translate4To6(long nowMs, ReadOnlySpan<byte> input, ITranslationSink sink, bool hairpin = false)
    {
        if (!Ipv4Packet.TryParse(input, out var ip)) return Nat64Counter.Drop4Malformed;
        if (!ip.VerifyHeaderChecksum()) return Nat64Counter.Drop4BadHeaderChecksum;
        ReadOnlySpan<byte> packet = ip.Bytes;
        ReadOnlySpan<byte> payload = ip.Payload;
        bool firstPiece = ip.FragmentOffset == 0;
        bool icmp = ip.Protocol == IpProtocol.Icmp;
        bool icmpError = icmp && firstPiece && IcmpTranslation.IsIcmpv4Error(payload);

        if (HasUnexpiredSourceRoute(packet.Slice(Ipv4Packet.MinHeaderLength, ip.HeaderLength - Ipv4Packet.MinHeaderLength)))
        {
            // §4.1: options are not translated, but an unexpired source route cannot be honoured.
            SendIcmpv4Error(nowMs, packet, Icmpv4Type.DestinationUnreachable, 5, 0, sink);
            return Nat64Counter.Drop4SourceRoute;
        }
        byte hopLimit = hairpin ? ip.Ttl : (byte)(ip.Ttl - 1);
        if (!hairpin && ip.Ttl <= 1)
        {
            SendIcmpv4Error(nowMs, packet, Icmpv4Type.TimeExceeded, 0, 0, sink);
            return Nat64Counter.Drop4TtlExceeded;
        }
        if (!Map.TryMapIpv4Destination(nowMs, ip.Destination, out var destination))
        {
            // §4.4: a discarded packet may be answered with Destination Unreachable, administratively prohibited.
            SendIcmpv4Error(nowMs, packet, Icmpv4Type.DestinationUnreachable, 13, 0, sink);
            return Nat64Counter.Drop4DestinationUnmapped;
        }
        Ipv6Address source;
        if (hairpin) source = Map.EmbedInPool6(ip.Source);
        else if (!Map.TryMapIpv4Source(ip.Source, out source))
        {
            // §4.1: the "illegal" source of an ICMPv4 error is still translated, for troubleshooting.
            if (!icmpError)
            {
                SendIcmpv4Error(nowMs, packet, Icmpv4Type.DestinationUnreachable, 13, 0, sink);
                return Nat64Counter.Drop4SourceUnmapped;
            }
            source = Map.EmbedInPool6(ip.Source);
        }
        if (icmp && ip.IsFragment) return Nat64Counter.Drop4FragmentedIcmp;

        if (icmpError) return TranslateIcmpError4To6(ip, source, destination, hopLimit, hairpin, sink);

        int fragmentHeader = ip.IsFragment ? Ipv6FragmentHeader.Length : 0;
        int length = Ipv6Packet.HeaderLength + fragmentHeader + payload.Length;
        if (ip.DontFragment && length > _ipv6Mtu)
        {
            SendIcmpv4Error(nowMs, packet, Icmpv4Type.DestinationUnreachable, 4, (uint)Math.Max(68, _ipv6Mtu - 20), sink);
            return Nat64Counter.Drop4TooBig;
        }

        // The transport header is in the first piece only: work out its new checksum (and ICMP type) up front,
        // so that it can be patched into whichever output fragment carries it.
        Nat64Counter outcome;
        bool patch = false;
        ushort checksum = 0;
        byte nextHeader = ip.Protocol;
        byte icmpType = 0;
        var (added, removed) = Checksum.PseudoHeaderChange(source, destination, ip.Source, ip.Destination);
        switch (ip.Protocol)
        {
            case IpProtocol.Tcp:
                outcome = Nat64Counter.Translated4To6Tcp;
                if (firstPiece && TcpSegment.TryParse(payload, out var tcp))
                {
                    patch = true;
                    checksum = Checksum.Update(tcp.ChecksumField, removed, added);
                }
                break;
            case IpProtocol.Udp:
                outcome = Nat64Counter.Translated4To6Udp;
                if (firstPiece && UdpDatagram.TryParseHeader(payload, out var udp))
                {
                    patch = true;
                    if (udp.ChecksumField != 0)
                    {
                        checksum = Checksum.UpdateUdp(udp.ChecksumField, removed, added);
                    }
                    else if (!ZeroUdpChecksum(ip, payload, source, destination, out checksum, out var reason))
                    {
                        // Communication administratively prohibited: §4.4's answer to any discarded packet.
                        SendIcmpv4Error(nowMs, packet, Icmpv4Type.DestinationUnreachable, 13, 0, sink);
                        return reason;
                    }
                }
                break;
            case IpProtocol.Icmp:
                if (!IcmpHeader.TryParse(payload, out var echo)) return Nat64Counter.Drop4Malformed;
                if (echo.Type is not (Icmpv4Type.EchoRequest or Icmpv4Type.EchoReply) ||
                    !IcmpTranslation.TryMap4To6(echo.Type, echo.Code, out icmpType, out _))
                    return Nat64Counter.Drop4IcmpUntranslatable;
                outcome = Nat64Counter.Translated4To6IcmpEcho;
                nextHeader = IpProtocol.Icmpv6;
                patch = true;
                // ICMPv6 adds the pseudo-header to the sum (§4.2) and the type changes.
                checksum = IcmpTranslation.EchoChecksum4To6(echo, icmpType, source, destination, (uint)payload.Length);
                break;
            default:
                outcome = Nat64Counter.Translated4To6Other;
                break;
        }

        // §4: without DF, anything larger than the lowest IPv6 MTU is split into IPv6 fragments.
        int fragmentMtu = Math.Min(_lowestIpv6Mtu, _ipv6Mtu);
        bool split = !ip.DontFragment && length > fragmentMtu;
        int chunkMax = split ? (fragmentMtu - Ipv6Packet.HeaderLength - Ipv6FragmentHeader.Length) & ~7 : payload.Length;
        bool withFragmentHeader = split || ip.IsFragment;
        int headers = Ipv6Packet.HeaderLength + (withFragmentHeader ? Ipv6FragmentHeader.Length : 0);
        for (int offset = 0; ;)
        {
            int chunk = Math.Min(chunkMax, payload.Length - offset);
            bool last = offset + chunk >= payload.Length;
            Span<byte> output = sink.Reserve(headers + chunk);
            var header = new Ipv6PacketWriter(output);
            header.SetVersionClassFlow(ip.TypeOfService, 0);
            header.PayloadLength = (ushort)(headers - Ipv6Packet.HeaderLength + chunk);
            header.HopLimit = hopLimit;
            header.Source = source;
            header.Destination = destination;
            if (withFragmentHeader)
            {
                header.NextHeader = Ipv6FragmentHeader.Protocol;
                new Ipv6FragmentHeader(output.Slice(Ipv6Packet.HeaderLength))
                    .Set(nextHeader, ip.FragmentOffset + offset, !last || ip.MoreFragments, ip.Identification);
            }
            else
            {
                header.NextHeader = nextHeader;
            }
            Span<byte> data = output.Slice(headers, chunk);
            payload.Slice(offset, chunk).CopyTo(data);
            if (offset == 0 && patch) PatchTransportHeader(data, nextHeader, checksum, icmpType);
            sink.Commit(headers + chunk);
            if (split) Counters.Increment(Nat64Counter.Ipv6FragmentsSent);
            offset += chunk;
            if (last) break;
        }
        return outcome;
    }

    /// <summary>Puts the checksum worked out before fragmenting (and an echo's ICMPv6 type) into the piece that carries the header.</summary>
    private static void PatchTransportHeader(Span<byte> data, byte nextHeader, ushort checksum, byte icmpType)
    {
        switch (nextHeader)
        {
            case IpProtocol.Tcp:
                new TcpSegmentWriter(data).Checksum = checksum;
                break;
            case IpProtocol.Udp:
                new UdpDatagramWriter(data).Checksum = checksum;
                break;
            case IpProtocol.Icmpv6:
                var echo = new IcmpHeaderWriter(data);
                echo.Type = icmpType;
                echo.Checksum = checksum;
                break;
        }
    }

    /// <summary>RFC 7915 §4.5 and tayga's udp-cksum-mode for a UDP datagram without a checksum.</summary>
    private bool ZeroUdpChecksum(Ipv4Packet ip, ReadOnlySpan<byte> datagram, Ipv6Address source, Ipv6Address destination,
        out ushort checksum, out Nat64Counter reason)
    {
        checksum = 0;
        reason = Nat64Counter.Drop4UdpZeroChecksum;
        switch (_options.UdpChecksumMode)
        {
            case UdpChecksumMode.Forward:
                Counters.Increment(Nat64Counter.UdpZeroChecksumForwarded);
                return true;
            case UdpChecksumMode.Calculate when !ip.MoreFragments:
                // Sum the datagram as if its checksum field were zero: it is.
                ulong sum = Checksum.Add(Checksum.Ipv6PseudoHeader(source, destination, (uint)datagram.Length, IpProtocol.Udp), datagram);
                checksum = Checksum.Finish(sum);
                if (checksum == 0) checksum = 0xFFFF;
                Counters.Increment(Nat64Counter.UdpZeroChecksumCalculated);
                return true;
            default:
                return false;
        }
    }

    /// <summary>An LSRR or SSRR option whose pointer has not passed its end (RFC 791).</summary>
    private static bool HasUnexpiredSourceRoute(ReadOnlySpan<byte> options)
    {
        for (int i = 0; i < options.Length;)
        {
            byte kind = options[i];
            if (kind == 0) break;       // end of option list
            if (kind == 1) { i++; continue; } // no-operation
            if (i + 1 >= options.Length) break;
            int length = options[i + 1];
            if (length < 2) break;
            if (kind is 131 or 137 && i + 2 < options.Length && options[i + 2] <= length) return true;
            i += length;
        }
        return false;
    }

    /// <summary>§4.2 and §4.3: an ICMPv4 error, its inner packet translated one level deep, capped at 1280 bytes.</summary>
    private Nat64Counter TranslateIcmpError4To6(Ipv4Packet ip, Ipv6Address source, Ipv6Address destination, byte hopLimit, bool hairpin,
        ITranslationSink sink)
    {
        ReadOnlySpan<byte> message = ip.Payload;
        if (!IcmpHeader.TryParse(message, out var header4)) return Nat64Counter.Drop4Malformed;
        byte type = header4.Type, code = header4.Code;
        if (!IcmpTranslation.TryMap4To6(type, code, out byte type6, out byte code6)) return Nat64Counter.Drop4IcmpUntranslatable;

        const int Headers = Ipv6Packet.HeaderLength + IcmpHeaderWriter.Length;
        Span<byte> output = sink.Reserve(Math.Max(MaxIcmpv6ErrorLength, Headers + message.Length + Ipv6FragmentHeader.Length + 20 + Rfc4884MinimumOriginal));
        Span<byte> icmpBytes = output.Slice(Ipv6Packet.HeaderLength);
        var icmp = new IcmpHeaderWriter(icmpBytes);
        icmp.Type = type6;
        icmp.Code = code6;
        icmp.Checksum = 0;
        icmp.Rest = 0;
        ReadOnlySpan<byte> original = message.Slice(IcmpHeaderWriter.Length);
        if (type6 == Icmpv6Type.PacketTooBig)
        {
            int advertised = header4.MtuV4;
            if (advertised == 0)
            {
                // RFC 1191 router: guess from the returned datagram's total length.
                int returned = Ipv4Packet.TryParseQuoted(original, out var returnedPacket) ? returnedPacket.TotalLength : 0;
                advertised = IcmpTranslation.Plateau(returned);
            }
            int mtu = Math.Min(Math.Min(advertised + 20, _ipv6Mtu), _options.Ipv4Mtu + 20);
            icmp.MtuV6 = (uint)Math.Max(Ipv6Packet.MinimumMtu, mtu);
        }
        else if (type6 == Icmpv6Type.ParameterProblem)
        {
            int pointer = type == Icmpv4Type.DestinationUnreachable ? 6 : IcmpTranslation.Pointer4To6(header4.PointerV4);
            if (pointer < 0) return Nat64Counter.Drop4IcmpUntranslatable;
            icmp.PointerV6 = (uint)pointer;
        }

        ReadOnlySpan<byte> extension = default;
        if (type is Icmpv4Type.DestinationUnreachable or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem
            && header4.LengthV4 != 0 && header4.LengthV4 * 4 <= original.Length)
        {
            extension = original.Slice(header4.LengthV4 * 4);
            original = original.Slice(0, header4.LengthV4 * 4);
        }
        Span<byte> inner = icmpBytes.Slice(IcmpHeaderWriter.Length);
        int translated = TranslateInner4To6(original, inner, hairpin);
        if (translated < 0) return Nat64Counter.Drop4IcmpErrorInnerUntranslatable;
        int body = FitWithExtension(inner, translated, extension, MaxIcmpv6ErrorLength - Headers, wordSize: 8, out int lengthWords);
        if (type6 is Icmpv6Type.DestinationUnreachable or Icmpv6Type.TimeExceeded) icmp.LengthV6 = (byte)lengthWords;
        int messageLength = IcmpHeaderWriter.Length + body;

        var header = new Ipv6PacketWriter(output);
        header.SetVersionClassFlow(ip.TypeOfService, 0);
        header.PayloadLength = (ushort)messageLength;
        header.NextHeader = IpProtocol.Icmpv6;
        header.HopLimit = hopLimit;
        header.Source = source;
        header.Destination = destination;
        Icmpv6Packet.FillChecksum(icmpBytes.Slice(0, messageLength), source, destination);
        sink.Commit(Ipv6Packet.HeaderLength + messageLength);
        return Nat64Counter.Translated4To6IcmpError;
    }

    /// <summary>§4.3: the IPv4 packet inside an ICMPv4 error, as IPv6 with its TTL kept. Returns the bytes written, or -1.</summary>
    private int TranslateInner4To6(ReadOnlySpan<byte> inner, Span<byte> output, bool hairpin)
    {
        if (!Ipv4Packet.TryParseQuoted(inner, out var quoted)) return -1;
        int headerLength = quoted.HeaderLength;
        var source4 = quoted.Source;
        var destination4 = quoted.Destination;
        if (!Map.TryMapIpv4(0, source4, touch: false, out var source6)) return -1;
        Ipv6Address destination6;
        if (hairpin) destination6 = Map.EmbedInPool6(destination4);
        else if (!Map.TryMapIpv4(0, destination4, touch: false, out destination6)) return -1;
        int claimedUpper = Math.Max(0, quoted.TotalLength - headerLength);
        int fragmentOffset = quoted.FragmentOffset;
        bool more = quoted.MoreFragments;
        bool fragment = quoted.IsFragment;
        byte protocol = quoted.Protocol;
        byte nextHeader = protocol == IpProtocol.Icmp ? IpProtocol.Icmpv6 : protocol;
        int headers = Ipv6Packet.HeaderLength + (fragment ? Ipv6FragmentHeader.Length : 0);

        ReadOnlySpan<byte> upper = inner.Slice(headerLength);
        // One level deep only: an error about an error should not exist (RFC 1812 §4.3.2.7).
        if (protocol == IpProtocol.Icmp && fragmentOffset == 0 && IcmpTranslation.IsIcmpv4Error(upper)) return -1;
        Span<byte> segment = output.Slice(headers, upper.Length);
        upper.CopyTo(segment);
        if (fragmentOffset == 0)
        {
            var (added, removed) = Checksum.PseudoHeaderChange(source6, destination6, source4, destination4);
            UpdateTransportChecksum(protocol, segment, removed, added);
            if (protocol == IpProtocol.Icmp && IcmpHeader.TryParse(segment, out var echo) && echo.Type is Icmpv4Type.EchoRequest or Icmpv4Type.EchoReply
                && IcmpTranslation.TryMap4To6(echo.Type, echo.Code, out byte type6, out _))
                IcmpTranslation.TranslateEcho(segment, toIpv6: true, type6, source6, destination6, (uint)claimedUpper);
        }

        var header = new Ipv6PacketWriter(output);
        header.SetVersionClassFlow(quoted.TypeOfService, 0);
        header.PayloadLength = (ushort)(headers - Ipv6Packet.HeaderLength + claimedUpper);
        header.HopLimit = quoted.Ttl;
        header.Source = source6;
        header.Destination = destination6;
        if (fragment)
        {
            header.NextHeader = Ipv6FragmentHeader.Protocol;
            new Ipv6FragmentHeader(output.Slice(Ipv6Packet.HeaderLength))
                .Set(nextHeader, fragmentOffset, more, quoted.Identification);
        }
        else
        {
            header.NextHeader = nextHeader;
        }
        return headers + upper.Length;
    }
}
