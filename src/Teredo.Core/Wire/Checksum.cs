using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// The Internet checksum (RFC 1071) with the IPv4 and IPv6 pseudo-headers. Sums are kept as unfolded
/// 64-bit accumulators so that pieces (pseudo-header, header, payload) can be added in any order and
/// folded once at the end.
/// </summary>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> as big-endian 16-bit words; an odd last byte is padded with zero.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        // 32-bit big-endian words sum to the same one's-complement result as 16-bit words, in half the steps.
        int i = 0;
        for (; i + 4 <= data.Length; i += 4)
            sum += BinaryPrimitives.ReadUInt32BigEndian(data.Slice(i));
        if (i + 2 <= data.Length)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
            i += 2;
        }
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        return sum;
    }

    /// <summary>Folds an accumulator to 16 bits and complements it: the value to put in a checksum field.</summary>
    public static ushort Finish(ulong sum)
    {
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Add(0, data));

    /// <summary>Folds an accumulator to 16 bits without complementing it.</summary>
    public static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>
    /// Incremental update (RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m')): the checksum field after the words
    /// summing to <paramref name="removed"/> were replaced by words summing to <paramref name="added"/>.
    /// A wrong checksum stays wrong by the same amount, which is what a translator owes the receiver.
    /// </summary>
    public static ushort Update(ushort checksum, ulong removed, ulong added)
    {
        ulong sum = (ushort)~checksum + (ulong)(ushort)~Fold(removed) + Fold(added);
        return (ushort)~Fold(sum);
    }

    /// <summary>
    /// RFC 1624 §3's corner: eqn. 3 yields 0x0000 where a full sum yields 0xFFFF exactly when every covered word
    /// is zero. A pseudo-header (TCP, UDP, ICMPv6) or an IPv4 header's version field rules that out; an ICMPv4
    /// message may be all zeros (an echo reply with identifier, sequence and data zero), and a receiver would
    /// reject 0x0000 there. Pass the updated checksum and the whole message as it now stands.
    /// </summary>
    public static ushort FixAllZero(ushort checksum, ReadOnlySpan<byte> message) =>
        checksum == 0 && !message.ContainsAnyExcept((byte)0) ? (ushort)0xFFFF : checksum;

    /// <summary>RFC 1624 eqn. 3 for one 16-bit word that changed from <paramref name="oldWord"/> to <paramref name="newWord"/>.</summary>
    public static ushort UpdateWord(ushort checksum, ushort oldWord, ushort newWord) => Update(checksum, oldWord, (ulong)newWord);

    /// <summary>RFC 1624 eqn. 3 for a 32-bit word (two 16-bit words at an even offset).</summary>
    public static ushort UpdateDoubleWord(ushort checksum, uint oldWord, uint newWord) => Update(checksum, oldWord, (ulong)newWord);

    /// <summary>The checksum after an IPv4 address it covers (header or pseudo-header) changed.</summary>
    public static ushort UpdateAddress(ushort checksum, Ipv4Address oldAddress, Ipv4Address newAddress) =>
        Update(checksum, oldAddress.Value, (ulong)newAddress.Value);

    /// <summary>The checksum after a 16-byte IPv6 address it covers (the pseudo-header, RFC 8200 §8.1) changed.</summary>
    public static ushort UpdateAddress(ushort checksum, Ipv6Address oldAddress, Ipv6Address newAddress) =>
        Update(checksum, Sum(oldAddress), Sum(newAddress));

    /// <summary>
    /// A UDP checksum after a change the datagram's bytes do not see (its pseudo-header): zero stays zero,
    /// because over IPv4 it means "not computed" (RFC 768), and a result of zero is sent as 0xFFFF, its
    /// other one's-complement form, for the same reason (RFC 768, RFC 8200 §8.1).
    /// </summary>
    public static ushort UpdateUdp(ushort checksum, ulong removed, ulong added)
    {
        if (checksum == 0) return 0;
        ushort updated = Update(checksum, removed, added);
        return updated == 0 ? (ushort)0xFFFF : updated;
    }

    /// <summary>
    /// The pseudo-header change of a TCP or UDP segment translated from IPv6 to IPv4 with its bytes unchanged
    /// (RFC 7915 §5.5, RFC 6145): protocol and length are the same in both pseudo-headers, so only the
    /// addresses move. Pass the result's pair reversed for IPv4 to IPv6.
    /// </summary>
    public static (ulong Removed, ulong Added) PseudoHeaderChange(Ipv6Address source6, Ipv6Address destination6,
        Ipv4Address source4, Ipv4Address destination4) =>
        (Sum(source6) + Sum(destination6), Sum(source4) + Sum(destination4));

    /// <summary>The sum of an IPv6 address's 16-bit words (for pseudo-header updates).</summary>
    public static ulong Sum(Ipv6Address address) => AddWords(address.Value);

    /// <summary>The sum of an IPv4 address's 16-bit words.</summary>
    public static ulong Sum(Ipv4Address address) => (ulong)(address.Value >> 16) + (address.Value & 0xFFFF);

    /// <summary>The IPv6 pseudo-header of RFC 8200 §8.1 (upper-layer length is 32 bits).</summary>
    public static ulong Ipv6PseudoHeader(Ipv6Address source, Ipv6Address destination, uint upperLayerLength, byte nextHeader)
    {
        ulong sum = 0;
        sum += AddWords(source.Value);
        sum += AddWords(destination.Value);
        sum += upperLayerLength;
        sum += nextHeader;
        return sum;
    }

    /// <summary>The IPv4 pseudo-header of RFC 768 (source, destination, zero, protocol, UDP length).</summary>
    public static ulong Ipv4PseudoHeader(Ipv4Address source, Ipv4Address destination, byte protocol, ushort length)
        => (ulong)source.Value + destination.Value + protocol + length;

    private static ulong AddWords(UInt128 v) =>
        (ulong)(uint)(v >> 96) + (uint)(v >> 64) + (uint)(v >> 32) + (uint)v;
}
