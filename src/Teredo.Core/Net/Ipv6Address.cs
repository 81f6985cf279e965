using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Teredo.Net;

/// <summary>An IPv6 address as a 128-bit value (most significant bit = first bit on the wire).</summary>
public readonly record struct Ipv6Address(UInt128 Value)
{
    public const int Size = 16;
    public static readonly Ipv6Address Unspecified = new(UInt128.Zero);
    /// <summary>ff02::2, the destination of Router Solicitations.</summary>
    public static readonly Ipv6Address AllRouters = new(new UInt128(0xFF02_0000_0000_0000, 2));
    /// <summary>ff02::1, the destination of unsolicited Router Advertisements.</summary>
    public static readonly Ipv6Address AllNodes = new(new UInt128(0xFF02_0000_0000_0000, 1));

    public Ipv6Address(ulong upper, ulong lower) : this(new UInt128(upper, lower)) { }

    public ulong Upper => (ulong)(Value >> 64);
    public ulong Lower => (ulong)Value;

    public static Ipv6Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt128BigEndian(source));

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, Value);

    /// <summary>Octet <paramref name="index"/> (0 = first on the wire).</summary>
    public byte this[int index] => (byte)(Value >> (8 * (15 - index)));

    public bool IsLinkLocal => (Upper & 0xFFC0_0000_0000_0000) == 0xFE80_0000_0000_0000;
    public bool IsMulticast => (Upper >> 56) == 0xFF;
    public bool IsUnspecified => Value == UInt128.Zero;
    public bool IsLoopback => Value == UInt128.One;

    public bool IsIn(Ipv6Address prefix, int prefixLength)
    {
        if (prefixLength == 0) return true;
        UInt128 mask = UInt128.MaxValue << (128 - prefixLength);
        return (Value & mask) == (prefix.Value & mask);
    }

    public static Ipv6Address FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            throw new ArgumentException("not an IPv6 address", nameof(address));
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return Read(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        Write(bytes);
        return new IPAddress(bytes);
    }

    public static bool TryParse(string? text, out Ipv6Address address)
    {
        address = default;
        if (text is null || !text.Contains(':')) return false;
        if (!IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6 || ip.ScopeId != 0)
            return false;
        address = FromIPAddress(ip);
        return true;
    }

    public static Ipv6Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv6 address");

    /// <summary>RFC 5952 text form (lower case, longest zero run compressed).</summary>
    public override string ToString() => ToIPAddress().ToString();
}
