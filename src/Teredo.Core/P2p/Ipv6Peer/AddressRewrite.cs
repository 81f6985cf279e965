using Teredo.Net;
using Teredo.Wire;

namespace Teredo.P2p.Ipv6Peer;

/// <summary>
/// Rewrites the two addresses of an IPv6 packet in place and fixes the upper-layer checksum incrementally
/// (RFC 1624): the pseudo-header holds both addresses, so the TCP, UDP and ICMPv6 checksums change by the
/// difference of their sums and nothing else is read. Used for the outer packet and for the packet an
/// ICMPv6 error quotes; the latter reports what it changed so the error's own checksum can follow.
/// </summary>
public static class AddressRewrite
{
    /// <summary>
    /// Rewrites the header at the start of <paramref name="packet"/> to (<paramref name="source"/>,
    /// <paramref name="destination"/>) and patches the upper-layer checksum by the change plus
    /// <paramref name="extraRemoved"/> → <paramref name="extraAdded"/> (word sums of other bytes changed
    /// inside the upper layer). <paramref name="removed"/> and <paramref name="added"/> are the word sums of
    /// every byte this changed (addresses and checksum field), for a checksum that encloses the packet.
    /// </summary>
    public static void Apply(Span<byte> packet, in Ipv6ExtensionHeaders headers, Ipv6Address source, Ipv6Address destination,
        ulong extraRemoved, ulong extraAdded, out ulong removed, out ulong added)
    {
        var header = new Ipv6PacketWriter(packet);
        removed = Checksum.Sum(header.Source) + Checksum.Sum(header.Destination);
        added = Checksum.Sum(source) + Checksum.Sum(destination);
        header.Source = source;
        header.Destination = destination;
        // A later fragment carries data only; the checksum is in the first one, which covers the same pseudo-header.
        if (headers.HasFragmentHeader && headers.FragmentDataOffset(packet) != 0) return;
        if (PatchChecksum(packet, headers.UpperProtocol, headers.UpperOffset, removed + extraRemoved, added + extraAdded,
                out ushort before, out ushort after))
        {
            removed += before;
            added += after;
        }
    }

    /// <summary>
    /// Updates the checksum of the TCP, UDP or ICMPv6 header at <paramref name="offset"/>; false when there is
    /// none to update (another protocol, a UDP checksum of zero, a field cut off in a quoted packet).
    /// </summary>
    public static bool PatchChecksum(Span<byte> packet, byte protocol, int offset, ulong removed, ulong added,
        out ushort before, out ushort after)
    {
        before = after = 0;
        if (offset > packet.Length) return false;
        Span<byte> upper = packet.Slice(offset);
        switch (protocol)
        {
            case IpProtocol.Tcp when upper.Length >= TcpSegment.ChecksumOffset + sizeof(ushort):
                var tcp = new TcpSegmentWriter(upper);
                before = tcp.Checksum;
                tcp.UpdateChecksum(removed, added);
                after = tcp.Checksum;
                break;
            case IpProtocol.Udp when upper.Length >= UdpDatagram.HeaderLength:
                var udp = new UdpDatagramWriter(upper);
                before = udp.Checksum;
                // Zero in UDP means "not computed" (RFC 6935 tunnels); it stays so, whatever the addresses.
                if (before == 0) return false;
                udp.UpdateChecksum(removed, added);
                after = udp.Checksum;
                break;
            case IpProtocol.Icmpv6 when Icmpv6Packet.TryParse(upper, out var icmp):
                before = icmp.ChecksumField;
                after = Icmpv6Packet.UpdateChecksum(upper, removed, added);
                break;
            default:
                return false;
        }
        return true;
    }
}
