using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Nat64;

// RFC 7915 §5: IPv6 → IPv4.
public sealed partial class Nat64Translator
{
    private Nat64Counter Translate6To4(long nowMs, ReadOnlySpan<byte> input, ITranslationSink sink) =>
        Translate6To4Core(nowMs, input, sink, allowHairpin: true);

    private Nat64Counter Translate6To4Core(long nowMs, ReadOnlySpan<byte> input, ITranslationSink sink, bool allowHairpin)
    {
        if (!Ipv6Packet.TryParse(input, out var ip)) return Nat64Counter.Drop6Malformed;
        ReadOnlySpan<byte> packet = ip.Bytes;
        if (!Ipv6ExtensionHeaders.TryWalk(packet, out var ext)) return Nat64Counter.Drop6Malformed;
        bool icmp = ext.UpperProtocol == IpProtocol.Icmpv6;
        ReadOnlySpan<byte> upper = packet.Slice(ext.UpperOffset);
        bool firstPiece = ext.FragmentDataOffset(packet) == 0;
        bool icmpError = icmp && firstPiece && IcmpTranslation.IsIcmpv6Error(upper);

        if (ext.HeaderAfterFragment)
        {
            // The upper-layer header may not be in this fragment, so the packet cannot be translated
            // faithfully: refused as Jool does (its RFC 7915 review, "simple extension headers").
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.DestinationUnreachable, 1, 0, sink);
            return Nat64Counter.Drop6HeaderAfterFragment;
        }
        if (ext.ActiveRoutingHeader >= 0)
        {
            // RFC 7915 §5.1: a routing header with segments left ≠ 0 is an error at this "router" (RFC 8200 §4.4).
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.ParameterProblem, 0, (uint)(ext.ActiveRoutingHeader + 3), sink);
            return Nat64Counter.Drop6RoutingHeader;
        }
        if (ip.HopLimit <= 1)
        {
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.TimeExceeded, 0, 0, sink);
            return Nat64Counter.Drop6HopLimitExceeded;
        }
        if (!Map.TryMapIpv6Destination(ip.Destination, out var destination))
        {
            // §5.4: a discarded packet may be answered with Destination Unreachable, administratively prohibited.
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.DestinationUnreachable, 1, 0, sink);
            return Nat64Counter.Drop6DestinationUnmapped;
        }
        if (IsProhibitedDestination(destination))
        {
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.DestinationUnreachable, 1, 0, sink);
            return Nat64Counter.Drop6DestinationProhibited;
        }
        // An EAM inside pool6 (the P2P IPv4 peer's static address) maps back to the very destination: not a hairpin.
        if (allowHairpin && Map.IsInPool6(ip.Destination) && Map.TryMapHairpin(destination, out var hairpinDestination)
            && hairpinDestination != ip.Destination)
            return Hairpin(nowMs, packet, sink);
        Ipv4Address source;
        if (icmpError)
        {
            // A router's error: its address rarely maps, so it is shown as ours (RFC 6791); never leased.
            if (!Map.TryMapIpv6(ip.Source, out source))
            {
                source = _options.Rfc6791Ipv4 != Ipv4Address.Any ? _options.Rfc6791Ipv4 : _options.TranslatorIpv4;
                if (source == Ipv4Address.Any) return Nat64Counter.Drop6SourceUnmapped;
            }
        }
        else if (!Map.TryMapIpv6Source(nowMs, ip.Source, out source))
        {
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.DestinationUnreachable, 1, 0, sink);
            // With a dynamic pool every source maps unless the pool is full.
            return Map.DynamicPoolRange is null ? Nat64Counter.Drop6SourceUnmapped : Nat64Counter.Drop6PoolExhausted;
        }
        if (icmp && ext.IsFragmented(packet)) return Nat64Counter.Drop6FragmentedIcmp;

        int length = Ipv4Packet.MinHeaderLength + upper.Length;
        if (length > _options.Ipv4Mtu)
        {
            SendIcmpv6Error(nowMs, packet, Icmpv6Type.PacketTooBig, 0, (uint)Math.Max(Ipv6Packet.MinimumMtu, _options.Ipv4Mtu + 20), sink);
            return Nat64Counter.Drop6TooBig;
        }

        Span<byte> output = sink.Reserve(icmp ? Math.Max(length, MaxIcmpv4ErrorLength) : length);
        Nat64Counter outcome;
        int upperLength = upper.Length;
        byte protocol = ext.UpperProtocol;
        if (icmp)
        {
            protocol = IpProtocol.Icmp;
            upperLength = TranslateIcmp6To4(upper, ip.Source, ip.Destination, output.Slice(Ipv4Packet.MinHeaderLength), out outcome);
            if (upperLength < 0) return outcome;
            length = Ipv4Packet.MinHeaderLength + upperLength;
        }
        else
        {
            upper.CopyTo(output.Slice(Ipv4Packet.MinHeaderLength));
            outcome = TranslateTransport6To4(protocol, firstPiece, output.Slice(Ipv4Packet.MinHeaderLength, upperLength),
                ip.Source, ip.Destination, source, destination);
        }

        var header = new Ipv4PacketWriter(output);
        header.HeaderLength = Ipv4Packet.MinHeaderLength;
        header.TypeOfService = ip.TrafficClass;
        header.TotalLength = (ushort)length;
        WriteFragmentFields6To4(header, packet, ext, length);
        header.Ttl = (byte)(ip.HopLimit - 1);
        header.Protocol = protocol;
        header.Source = source;
        header.Destination = destination;
        header.FillChecksum();
        sink.Commit(length);
        return outcome;
    }

    /// <summary>§5.1: identification, DF and MF from the fragment header when there is one, else DF by size.</summary>
    private void WriteFragmentFields6To4(Ipv4PacketWriter header, ReadOnlySpan<byte> packet, in Ipv6ExtensionHeaders ext, int length)
    {
        if (ext.HasFragmentHeader)
        {
            header.Identification = (ushort)ext.FragmentIdentification(packet);
            header.SetFragment(false, ext.MoreFragments(packet), ext.FragmentDataOffset(packet));
        }
        else
        {
            bool dontFragment = length > DontFragmentThreshold;
            header.Identification = dontFragment ? (ushort)0 : NextIdentification();
            header.SetFragment(dontFragment, false, 0);
        }
    }

    /// <summary>TCP and UDP keep their bytes; only the pseudo-header addresses change in the checksum (RFC 1624).</summary>
    private static Nat64Counter TranslateTransport6To4(byte protocol, bool firstPiece, Span<byte> segment,
        Ipv6Address source6, Ipv6Address destination6, Ipv4Address source4, Ipv4Address destination4)
    {
        if (firstPiece)
        {
            var (removed, added) = Checksum.PseudoHeaderChange(source6, destination6, source4, destination4);
            UpdateTransportChecksum(protocol, segment, removed, added);
        }
        return protocol switch
        {
            IpProtocol.Tcp => Nat64Counter.Translated6To4Tcp,
            IpProtocol.Udp => Nat64Counter.Translated6To4Udp,
            _ => Nat64Counter.Translated6To4Other,
        };
    }

    /// <summary>
    /// The TCP or UDP checksum of a segment (or its first piece) whose pseudo-header changed, its bytes kept;
    /// a UDP datagram without a checksum stays without one. Other protocols and headers cut short are left alone.
    /// </summary>
    private static void UpdateTransportChecksum(byte protocol, Span<byte> segment, ulong removed, ulong added)
    {
        if (protocol == IpProtocol.Tcp && TcpSegment.TryParse(segment, out _))
            new TcpSegmentWriter(segment).UpdateChecksum(removed, added);
        else if (protocol == IpProtocol.Udp && UdpDatagram.TryParseHeader(segment, out _))
            new UdpDatagramWriter(segment).UpdateChecksum(removed, added);
    }

    /// <summary>
    /// §5.2: translates the ICMPv6 message <paramref name="message"/> into an ICMPv4 one at <paramref name="output"/>.
    /// Returns its length, or -1 with the drop reason in <paramref name="outcome"/>.
    /// </summary>
    private int TranslateIcmp6To4(ReadOnlySpan<byte> message, Ipv6Address source6, Ipv6Address destination6,
        Span<byte> output, out Nat64Counter outcome)
    {
        outcome = Nat64Counter.Drop6IcmpUntranslatable;
        if (!IcmpHeader.TryParse(message, out var header6)) return Fail(Nat64Counter.Drop6Malformed, out outcome);
        byte type = header6.Type, code = header6.Code;
        if (!IcmpTranslation.TryMap6To4(type, code, out byte type4, out byte code4)) return -1;

        if (type is Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply)
        {
            message.CopyTo(output);
            // Drop the ICMPv6 pseudo-header from the sum and account for the new type (RFC 7915 §5.2).
            IcmpTranslation.TranslateEcho(output.Slice(0, message.Length), toIpv6: false, type4, source6, destination6, (uint)message.Length);
            outcome = Nat64Counter.Translated6To4IcmpEcho;
            return message.Length;
        }

        var icmp = new IcmpHeaderWriter(output);
        icmp.Type = type4;
        icmp.Code = code4;
        icmp.Checksum = 0;
        icmp.Rest = 0;
        uint rest6 = header6.Rest;
        if (type == Icmpv6Type.PacketTooBig)
        {
            // minimum(advertised MTU − 20, MTU of the IPv4 next hop, MTU of the IPv6 next hop − 20)
            long mtu = Math.Min(Math.Min((long)rest6 - 20, _options.Ipv4Mtu), _ipv6Mtu - 20);
            icmp.MtuV4 = (ushort)Math.Clamp(mtu, 68, 65535);
        }
        else if (type == Icmpv6Type.ParameterProblem && code == 0)
        {
            int pointer = IcmpTranslation.Pointer6To4(rest6);
            if (pointer < 0) return -1;
            icmp.PointerV4 = (byte)pointer;
        }

        // RFC 4884: a length attribute on Destination Unreachable and Time Exceeded splits the original datagram from extensions.
        ReadOnlySpan<byte> original = message.Slice(IcmpHeaderWriter.Length);
        ReadOnlySpan<byte> extension = default;
        int originalLength = header6.LengthV6 * 8;
        if (type is Icmpv6Type.DestinationUnreachable or Icmpv6Type.TimeExceeded && originalLength != 0 && originalLength <= original.Length)
        {
            extension = original.Slice(originalLength);
            original = original.Slice(0, originalLength);
        }
        Span<byte> inner = output.Slice(IcmpHeaderWriter.Length);
        int translated = TranslateInner6To4(original, inner);
        if (translated < 0) return Fail(Nat64Counter.Drop6IcmpErrorInnerUntranslatable, out outcome);

        int room = MaxIcmpv4ErrorLength - Ipv4Packet.MinHeaderLength - IcmpHeaderWriter.Length;
        int body = FitWithExtension(inner, translated, extension, room, wordSize: 4, out int lengthWords);
        icmp.LengthV4 = (byte)lengthWords;
        int total = IcmpHeaderWriter.Length + body;
        icmp.Checksum = Checksum.Compute(output.Slice(0, total));
        outcome = Nat64Counter.Translated6To4IcmpError;
        return total;
    }

    /// <summary>
    /// Places an RFC 4884 extension after the translated original datagram (already at the start of
    /// <paramref name="body"/>): the original is padded to a whole number of words and at least 128 bytes,
    /// and trimmed first when the message must fit <paramref name="room"/>; an extension that cannot fit
    /// whole is dropped. Returns the body length; <paramref name="lengthWords"/> is the length attribute.
    /// </summary>
    private static int FitWithExtension(Span<byte> body, int translated, ReadOnlySpan<byte> extension, int room, int wordSize, out int lengthWords)
    {
        lengthWords = 0;
        if (extension.IsEmpty || Rfc4884MinimumOriginal + extension.Length > room)
            return Math.Min(translated, room);
        int original = Math.Max(Rfc4884MinimumOriginal, RoundUp(translated, wordSize));
        original = Math.Min(original, (room - extension.Length) / wordSize * wordSize);
        if (translated < original) body.Slice(translated, original - translated).Clear();
        extension.CopyTo(body.Slice(original));
        lengthWords = original / wordSize;
        return original + extension.Length;
    }

    /// <summary>
    /// §5.3: the IPv6 packet inside an ICMPv6 error, as IPv4 (hop limit kept as the TTL). It may be
    /// truncated; the lengths in its header stay those of the original. Returns the bytes written, or -1.
    /// </summary>
    private int TranslateInner6To4(ReadOnlySpan<byte> inner, Span<byte> output)
    {
        if (!Ipv6Packet.TryParseQuoted(inner, out var quoted)) return -1;
        if (!Ipv6ExtensionHeaders.TryWalk(inner, out var ext, truncatedOk: true)) return -1;
        var source6 = quoted.Source;
        var destination6 = quoted.Destination;
        if (!Map.TryMapIpv6(source6, out var source4) || !Map.TryMapIpv6(destination6, out var destination4)) return -1;

        int claimedUpper = quoted.PayloadLength - (ext.UpperOffset - Ipv6Packet.HeaderLength);
        if (claimedUpper < 0) claimedUpper = 0;
        ReadOnlySpan<byte> upper = ext.UpperOffset <= inner.Length ? inner.Slice(ext.UpperOffset) : default;
        bool firstPiece = ext.FragmentDataOffset(inner) == 0;
        byte protocol = ext.UpperProtocol == IpProtocol.Icmpv6 ? IpProtocol.Icmp : ext.UpperProtocol;

        Span<byte> segment = output.Slice(Ipv4Packet.MinHeaderLength, upper.Length);
        upper.CopyTo(segment);
        // One level deep only: an error about an error should not exist (RFC 4443 §2.4 e).
        if (ext.UpperProtocol == IpProtocol.Icmpv6 && firstPiece && IcmpTranslation.IsIcmpv6Error(upper)) return -1;
        if (ext.UpperProtocol == IpProtocol.Icmpv6)
        {
            // An echo inside an error: new type, and no pseudo-header in its checksum.
            if (firstPiece && IcmpHeader.TryParse(segment, out var echo) && echo.Type is Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply
                && IcmpTranslation.TryMap6To4(echo.Type, echo.Code, out byte type4, out _))
                IcmpTranslation.TranslateEcho(segment, toIpv6: false, type4, source6, destination6, (uint)claimedUpper);
        }
        else
        {
            TranslateTransport6To4(ext.UpperProtocol, firstPiece, segment, source6, destination6, source4, destination4);
        }

        var header = new Ipv4PacketWriter(output);
        header.HeaderLength = Ipv4Packet.MinHeaderLength;
        header.TypeOfService = quoted.TrafficClass;
        int totalLength = Ipv4Packet.MinHeaderLength + claimedUpper;
        header.TotalLength = (ushort)Math.Min(totalLength, 65535);
        if (ext.HasFragmentHeader)
        {
            header.Identification = (ushort)ext.FragmentIdentification(inner);
            header.SetFragment(false, ext.MoreFragments(inner), ext.FragmentDataOffset(inner));
        }
        else
        {
            header.Identification = 0;
            header.SetFragment(totalLength > DontFragmentThreshold, false, 0);
        }
        header.Ttl = quoted.HopLimit;
        header.Protocol = protocol;
        header.Source = source4;
        header.Destination = destination4;
        header.FillChecksum();
        return Ipv4Packet.MinHeaderLength + upper.Length;
    }

    /// <summary>
    /// RFC 7757 §4.2 hairpinning: the IPv4 destination is itself an IPv6 host behind us (EAM or dynamic
    /// pool), so the IPv4 packet just made goes straight back through 4→6 (from a scratch buffer the
    /// translator owns), its source shown as the RFC 6052 address of its IPv4 form. Translating twice
    /// keeps every rule of both directions, ICMP errors and their inner packets included.
    /// </summary>
    private Nat64Counter Hairpin(long nowMs, ReadOnlySpan<byte> packet, ITranslationSink sink)
    {
        _hairpinSink.Length = -1;
        var first = Translate6To4Core(nowMs, packet, _hairpinSink, allowHairpin: false);
        if (_hairpinSink.Length < 0) return first; // dropped on the way in
        ReadOnlySpan<byte> translated = _hairpinSink.Buffer.AsSpan(0, _hairpinSink.Length);
        if (translated[0] >> 4 == 6)
        {
            // Not translated but answered (Packet Too Big): the error goes out as it is.
            translated.CopyTo(sink.Reserve(translated.Length));
            sink.Commit(translated.Length);
            return first;
        }
        var second = Translate4To6(nowMs, translated, sink, hairpin: true);
        return second is >= Nat64Counter.Translated4To6Tcp and <= Nat64Counter.Translated4To6Other ? Nat64Counter.Hairpinned : second;
    }

    /// <summary>The scratch buffer of the 6→4 half of a hairpin.</summary>
    private sealed class HairpinSink : ITranslationSink
    {
        public readonly byte[] Buffer = new byte[65536 + MaxIcmpv4ErrorLength];
        public int Length = -1;
        public Span<byte> Reserve(int maxLength) => Buffer.AsSpan(0, maxLength);
        public void Commit(int length) => Length = length;
    }

    private static int Fail(Nat64Counter reason, out Nat64Counter outcome)
    {
        outcome = reason;
        return -1;
    }
}
