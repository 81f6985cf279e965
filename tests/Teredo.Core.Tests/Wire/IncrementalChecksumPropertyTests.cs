using System.Buffers.Binary;
using FsCheck.Xunit;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Tests.Wire;

/// <summary>
/// The incremental update (RFC 1624) gives what a full recomputation gives, for random packets and random
/// field changes, corner cases included; and the writable views read back what they wrote.
/// </summary>
public class IncrementalChecksumPropertyTests
{
    /// <summary>
    /// One word changed anywhere. The one place eqn. 3 and a full sum may differ is RFC 1624 §3's: when every
    /// word is zero, summing gives 0xFFFF and the update 0x0000 (both are zero in one's complement).
    /// </summary>
    [Property(MaxTest = 1000)]
    public bool Word_update_equals_recomputation(byte[] data, int position, ushort word, bool allZero)
    {
        data ??= [];
        if (allZero) Array.Clear(data);
        if (data.Length < 2) return true;
        int offset = (int)((uint)position % (data.Length / 2)) * 2;
        ushort before = Checksum.Compute(data);
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(offset));
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(offset), allZero ? (ushort)0 : word);
        ushort full = Checksum.Compute(data);
        ushort incremental = Checksum.UpdateWord(before, old, allZero ? (ushort)0 : word);
        return incremental == full || (full == 0xFFFF && incremental == 0 && !data.AsSpan().ContainsAnyExcept((byte)0));
    }

    [Property(MaxTest = 1000)]
    public bool Double_word_and_address_updates_equal_recomputation(byte[] payload, uint oldWord, uint newWord, ulong hi, ulong lo, ulong hi2, ulong lo2)
    {
        // A 32-bit word (an IPv4 address) and a 16-byte IPv6 address ahead of random bytes, with a nonzero
        // protocol word as every pseudo-header has, so the all-zero corner cannot arise.
        payload ??= [];
        var a6 = new Ipv6Address(hi, lo);
        var b6 = new Ipv6Address(hi2, lo2);
        byte[] data = new byte[4 + 16 + 2 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, oldWord);
        a6.Write(data.AsSpan(4));
        data[21] = IpProtocol.Udp;
        payload.CopyTo(data, 22);
        ushort before = Checksum.Compute(data);
        BinaryPrimitives.WriteUInt32BigEndian(data, newWord);
        b6.Write(data.AsSpan(4));
        ushort full = Checksum.Compute(data);
        ushort incremental = Checksum.UpdateAddress(Checksum.UpdateDoubleWord(before, oldWord, newWord), a6, b6);
        ushort viaIpv4 = Checksum.UpdateAddress(Checksum.UpdateAddress(before, new Ipv4Address(oldWord), new Ipv4Address(newWord)), a6, b6);
        return incremental == full && viaIpv4 == full;
    }

    [Property(MaxTest = 500)]
    public bool Ipv4_rewrites_keep_the_header_valid(uint source, uint destination, byte ttl, byte protocol, ushort length,
        uint newSource, uint newDestination, byte newTtl)
    {
        var bytes = new byte[Ipv4Header.Length];
        new Ipv4Header(new Ipv4Address(source), new Ipv4Address(destination), protocol, (ushort)(length % 60000), ttl).Emit(bytes);
        var w = new Ipv4PacketWriter(bytes);
        w.ReplaceSource(new Ipv4Address(newSource));
        w.ReplaceDestination(new Ipv4Address(newDestination));
        w.ReplaceTtl(newTtl);
        ushort incremental = w.HeaderChecksum;
        w.FillChecksum();
        return incremental == w.HeaderChecksum && Checksum.Compute(bytes) == 0;
    }

    /// <summary>RFC 7915's UDP and TCP translation: the checksum moved by the pseudo-header difference is the one summed anew.</summary>
    [Property(MaxTest = 1000)]
    public bool Transport_translation_update_equals_recomputation(byte[] payload, bool tcp, bool sixToFour,
        uint s4, uint d4, ulong s6Hi, ulong s6Lo, ulong d6Hi, ulong d6Lo)
    {
        payload ??= [];
        byte protocol = tcp ? IpProtocol.Tcp : IpProtocol.Udp;
        int headerLength = tcp ? TcpSegment.MinHeaderLength : UdpDatagram.HeaderLength;
        var segment = new byte[headerLength + payload.Length];
        payload.CopyTo(segment, headerLength);
        if (!tcp) BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(4), (ushort)segment.Length);
        var source4 = new Ipv4Address(s4);
        var destination4 = new Ipv4Address(d4);
        var source6 = new Ipv6Address(s6Hi, s6Lo);
        var destination6 = new Ipv6Address(d6Hi, d6Lo);
        ulong pseudo4 = Checksum.Ipv4PseudoHeader(source4, destination4, protocol, (ushort)segment.Length);
        ulong pseudo6 = Checksum.Ipv6PseudoHeader(source6, destination6, (uint)segment.Length, protocol);

        SetChecksum(segment, tcp, sixToFour ? pseudo6 : pseudo4);
        var (sum6, sum4) = Checksum.PseudoHeaderChange(source6, destination6, source4, destination4);
        ushort incremental = Update(segment, tcp, sixToFour ? sum6 : sum4, sixToFour ? sum4 : sum6);
        ushort full = SetChecksum(segment, tcp, sixToFour ? pseudo4 : pseudo6);
        return incremental == full;
    }

    /// <summary>RFC 7915 §4.2 and §5.2: an echo's checksum across the type change and the ICMPv6 pseudo-header.</summary>
    [Property(MaxTest = 1000)]
    public bool Echo_translation_update_equals_recomputation(byte[] data, bool request, bool sixToFour, ushort identifier,
        ushort sequence, ulong s6Hi, ulong s6Lo, ulong d6Hi, ulong d6Lo)
    {
        data ??= [];
        var source = new Ipv6Address(s6Hi, s6Lo);
        var destination = new Ipv6Address(d6Hi, d6Lo);
        var message = new byte[IcmpHeader.Length + data.Length];
        data.CopyTo(message, IcmpHeader.Length);
        var w = new IcmpHeaderWriter(message);
        w.Type = sixToFour ? (request ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply) : (request ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply);
        w.Identifier = identifier;
        w.Sequence = sequence;
        if (sixToFour) Icmpv6Packet.FillChecksum(message, source, destination);
        else w.Checksum = Checksum.Compute(message);
        byte type = sixToFour ? (request ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply) : (request ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply);
        IcmpTranslation.TranslateEcho(message, toIpv6: !sixToFour, type, source, destination, (uint)message.Length);
        ushort incremental = w.Checksum;
        if (sixToFour)
        {
            w.Checksum = 0;
            w.Checksum = Checksum.Compute(message);
        }
        else
        {
            Icmpv6Packet.FillChecksum(message, source, destination);
        }
        return w.Type == type && incremental == w.Checksum;
    }

    [Property(MaxTest = 300)]
    public bool Writable_views_read_back_what_they_wrote(uint source, uint destination, byte tos, ushort id, bool df, bool mf,
        ushort offset, byte ttl, byte protocol, ushort sourcePort, ushort destinationPort, ushort checksum, byte type, byte code, uint rest)
    {
        var ip = new byte[Ipv4Packet.MinHeaderLength];
        var w4 = new Ipv4PacketWriter(ip);
        w4.HeaderLength = Ipv4Packet.MinHeaderLength;
        w4.TypeOfService = tos;
        w4.TotalLength = Ipv4Packet.MinHeaderLength;
        w4.Identification = id;
        w4.SetFragment(df, mf, offset & 0xFFF8);
        w4.Ttl = ttl;
        w4.Protocol = protocol;
        w4.Source = new Ipv4Address(source);
        w4.Destination = new Ipv4Address(destination);
        w4.FillChecksum();
        bool ipOk = Ipv4Packet.TryParse(ip, out var p) && p.VerifyHeaderChecksum()
            && (p.TypeOfService, p.Identification, p.DontFragment, p.MoreFragments, p.FragmentOffset, p.Ttl, p.Protocol, p.Source.Value, p.Destination.Value)
            == (tos, id, df, mf, offset & 0xFFF8, ttl, protocol, source, destination);

        var segment = new byte[TcpSegment.MinHeaderLength];
        var tcp = new TcpSegmentWriter(segment) { SourcePort = sourcePort, DestinationPort = destinationPort, Checksum = checksum };
        var udp = new UdpDatagramWriter(segment) { SourcePort = destinationPort, DestinationPort = sourcePort, Length = 20, Checksum = checksum };
        bool transportOk = TcpSegment.TryParse(segment, out var t) && UdpDatagram.TryParse(segment, out var u)
            && (t.SourcePort, t.DestinationPort, t.ChecksumField) == (tcp.SourcePort, tcp.DestinationPort, checksum)
            && (u.SourcePort, u.DestinationPort, u.Length, u.ChecksumField) == (destinationPort, sourcePort, 20, checksum);

        var icmp = new byte[IcmpHeader.Length];
        var wi = new IcmpHeaderWriter(icmp) { Type = type, Code = code, Checksum = checksum, Rest = rest };
        bool icmpOk = IcmpHeader.TryParse(icmp, out var h) && (h.Type, h.Code, h.Checksum, h.Rest) == (type, code, checksum, rest)
            && h.Identifier == (ushort)(rest >> 16) && h.Sequence == (ushort)rest && wi.MtuV6 == rest;
        return ipOk && transportOk && icmpOk;
    }

    /// <summary>Writes the checksum summed over <paramref name="pseudoHeader"/> and the segment, UDP's zero rule applied.</summary>
    private static ushort SetChecksum(byte[] segment, bool tcp, ulong pseudoHeader)
    {
        if (tcp)
        {
            var w = new TcpSegmentWriter(segment) { Checksum = 0 };
            w.Checksum = Checksum.Finish(Checksum.Add(pseudoHeader, segment));
            return w.Checksum;
        }
        var u = new UdpDatagramWriter(segment) { Checksum = 0 };
        ushort sum = Checksum.Finish(Checksum.Add(pseudoHeader, segment));
        u.Checksum = sum == 0 ? (ushort)0xFFFF : sum;
        return u.Checksum;
    }

    private static ushort Update(byte[] segment, bool tcp, ulong removed, ulong added)
    {
        if (tcp)
        {
            var w = new TcpSegmentWriter(segment);
            w.UpdateChecksum(removed, added);
            return w.Checksum;
        }
        var u = new UdpDatagramWriter(segment);
        u.UpdateChecksum(removed, added);
        return u.Checksum;
    }
}
