using System.Buffers.Binary;

namespace Teredo.Wire;

/// <summary>
/// Walks the extension headers after an IPv6 fixed header (RFC 8200 §4) up to the upper-layer header:
/// hop-by-hop, destination options, routing and fragment. Stops at the first header it does not know
/// (the upper layer, or ESP/AH which a translator passes on as payload).
/// </summary>
public ref struct Ipv6ExtensionHeaders
{
    public const byte HopByHop = 0;
    public const byte Routing = 43;
    public const byte Fragment = 44;
    public const byte DestinationOptions = 60;

    /// <summary>Offsets inside a hop-by-hop, routing or destination options header (RFC 8200 §4.3-4.6).</summary>
    private static class Field
    {
        public const int NextHeader = 0;
        /// <summary>In 8-byte units, not counting the first 8 bytes.</summary>
        public const int HeaderExtensionLength = 1;
        /// <summary>Routing header only.</summary>
        public const int SegmentsLeft = 3;
    }

    /// <summary>Protocol of what follows the extension headers.</summary>
    public byte UpperProtocol;
    /// <summary>Offset of the upper-layer header from the start of the IPv6 packet.</summary>
    public int UpperOffset;
    /// <summary>Offset of the fragment header, or -1.</summary>
    public int FragmentOffsetInPacket;
    /// <summary>Offset of a routing header with segments left ≠ 0, or -1 (RFC 8200 §4.4 makes that an error).</summary>
    public int ActiveRoutingHeader;
    /// <summary>An extension header (other than another fragment header) after the fragment header.</summary>
    public bool HeaderAfterFragment;

    public readonly bool HasFragmentHeader => FragmentOffsetInPacket >= 0;

    /// <summary>
    /// Walks the headers of <paramref name="packet"/> (fixed header included). With <paramref name="truncatedOk"/>
    /// (the packet inside an ICMP error) a header cut short ends the walk instead of failing it.
    /// </summary>
    public static bool TryWalk(ReadOnlySpan<byte> packet, out Ipv6ExtensionHeaders result, bool truncatedOk = false)
    {
        result = default;
        result.FragmentOffsetInPacket = -1;
        result.ActiveRoutingHeader = -1;
        byte next = packet[Ipv6Packet.Field.NextHeader];
        int offset = Ipv6Packet.HeaderLength;
        for (int count = 0; ; count++)
        {
            if (next is not (HopByHop or Routing or Fragment or DestinationOptions) || count > 16) break;
            // RFC 8200 §4.1: hop-by-hop only right after the fixed header (after a fragment header it is reported as such).
            if (next == HopByHop && count != 0 && !result.HasFragmentHeader) return false;
            if (offset + 8 > packet.Length) return truncatedOk && Finish(ref result, next, offset);
            int length = next == Fragment ? Ipv6FragmentHeader.Length : (packet[offset + Field.HeaderExtensionLength] + 1) * 8;
            if (offset + length > packet.Length) return truncatedOk && Finish(ref result, next, offset);
            if (result.HasFragmentHeader && next != Fragment) result.HeaderAfterFragment = true;
            if (next == Fragment)
            {
                if (result.HasFragmentHeader) return false;
                result.FragmentOffsetInPacket = offset;
            }
            else if (next == Routing && packet[offset + Field.SegmentsLeft] != 0 && result.ActiveRoutingHeader < 0)
            {
                result.ActiveRoutingHeader = offset;
            }
            next = packet[offset + Field.NextHeader];
            offset += length;
            // A later fragment carries no upper-layer header; what follows is data.
            if (result.HasFragmentHeader && Ipv6FragmentHeader.ReadOffset(packet.Slice(result.FragmentOffsetInPacket)) != 0) break;
        }
        return Finish(ref result, next, offset);
    }

    private static bool Finish(ref Ipv6ExtensionHeaders result, byte next, int offset)
    {
        result.UpperProtocol = next;
        result.UpperOffset = offset;
        return true;
    }

    public readonly int FragmentDataOffset(ReadOnlySpan<byte> packet) =>
        HasFragmentHeader ? Ipv6FragmentHeader.ReadOffset(packet.Slice(FragmentOffsetInPacket)) : 0;

    public readonly bool MoreFragments(ReadOnlySpan<byte> packet) =>
        HasFragmentHeader && Ipv6FragmentHeader.ReadMore(packet.Slice(FragmentOffsetInPacket));

    public readonly uint FragmentIdentification(ReadOnlySpan<byte> packet) =>
        HasFragmentHeader ? Ipv6FragmentHeader.ReadIdentification(packet.Slice(FragmentOffsetInPacket)) : 0;

    /// <summary>True when the packet is one piece of a larger datagram (not an atomic fragment).</summary>
    public readonly bool IsFragmented(ReadOnlySpan<byte> packet) =>
        HasFragmentHeader && (FragmentDataOffset(packet) != 0 || MoreFragments(packet));

}
