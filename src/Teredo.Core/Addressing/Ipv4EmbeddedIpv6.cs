using Teredo.Net;

namespace Teredo.Addressing;

/// <summary>
/// IPv4-embedded IPv6 addresses (RFC 6052 §2.2) for the six allowed prefix lengths. The IPv4 address
/// follows the prefix but never occupies bits 64-71 (the "u" octet, which must be zero); what is left
/// after it is the suffix, which translators ignore and which the P2P address plan uses.
/// </summary>
public static class Ipv4EmbeddedIpv6
{
    /// <summary>The Well-Known Prefix 64:ff9b::/96 (RFC 6052 §2.1).</summary>
    public static readonly Ipv6Address WellKnownPrefix = new(0x0064_FF9B_0000_0000, 0);

    private const int UOctet = 8;

    public static bool IsValidPrefixLength(int prefixLength) =>
        prefixLength is 32 or 40 or 48 or 56 or 64 or 96;

    /// <summary>Number of suffix bits after the embedded IPv4 (56 for /32 down to 0 for /96).</summary>
    public static int SuffixBits(int prefixLength)
    {
        RequireLength(prefixLength);
        return prefixLength == 96 ? 0 : 128 - 8 - prefixLength - 32;
    }

    /// <summary>Embeds <paramref name="ipv4"/> after <paramref name="prefix"/>; bits of the prefix beyond its length are ignored.</summary>
    public static Ipv6Address Embed(Ipv6Address prefix, int prefixLength, Ipv4Address ipv4, ulong suffix = 0)
    {
        RequireLength(prefixLength);
        int suffixBits = SuffixBits(prefixLength);
        if (suffixBits < 64 && suffix >> suffixBits != 0)
            throw new ArgumentOutOfRangeException(nameof(suffix), $"the suffix of a /{prefixLength} has {suffixBits} bits");
        Span<byte> bytes = stackalloc byte[16];
        prefix.Write(bytes);
        bytes.Slice(prefixLength / 8).Clear();
        Span<byte> v4 = stackalloc byte[4];
        ipv4.Write(v4);
        int position = prefixLength / 8;
        foreach (byte octet in v4)
        {
            if (position == UOctet && prefixLength != 96) position++;
            bytes[position++] = octet;
        }
        if (prefixLength != 96 && position == UOctet) position++;
        // The suffix fills the octets after the IPv4 address, right-aligned.
        for (int i = 15; i >= position && suffixBits > 0; i--, suffix >>= 8)
            bytes[i] = (byte)suffix;
        return Ipv6Address.Read(bytes);
    }

    /// <summary>
    /// Reads the IPv4 address and suffix embedded in <paramref name="address"/> under a prefix of
    /// <paramref name="prefixLength"/>; false when the u octet is not zero (RFC 6052 §2.2).
    /// </summary>
    public static bool TryExtract(Ipv6Address address, int prefixLength, out Ipv4Address ipv4, out ulong suffix)
    {
        RequireLength(prefixLength);
        ipv4 = default;
        suffix = 0;
        if (prefixLength != 96 && address[UOctet] != 0) return false;
        uint v4 = 0;
        int position = prefixLength / 8;
        for (int i = 0; i < 4; i++)
        {
            if (position == UOctet && prefixLength != 96) position++;
            v4 = v4 << 8 | address[position++];
        }
        if (prefixLength != 96 && position == UOctet) position++;
        for (int i = position; i < 16; i++)
            suffix = suffix << 8 | address[i];
        ipv4 = new Ipv4Address(v4);
        return true;
    }

    private static void RequireLength(int prefixLength)
    {
        if (!IsValidPrefixLength(prefixLength))
            throw new ArgumentOutOfRangeException(nameof(prefixLength), "RFC 6052 allows /32, /40, /48, /56, /64 and /96");
    }
}
