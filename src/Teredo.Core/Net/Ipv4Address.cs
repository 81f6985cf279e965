using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Teredo.Net;

/// <summary>An IPv4 address as a host-order 32-bit value: a value type so packet paths never allocate.</summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public const int Size = 4;
    public static readonly Ipv4Address Any = new(0);

    public Ipv4Address(byte a, byte b, byte c, byte d) : this((uint)(a << 24 | b << 16 | c << 8 | d)) { }

    public static Ipv4Address Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt32BigEndian(source));

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public static Ipv4Address FromIPAddress(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException("not an IPv4 address", nameof(address));
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return Read(bytes);
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[4];
        Write(bytes);
        return new IPAddress(bytes);
    }

    public static bool TryParse(string? text, out Ipv4Address address)
    {
        address = default;
        // IPAddress.TryParse accepts "1" or "1.2" shorthands; people mean dotted quads.
        if (text is null || text.Split('.').Length != 4) return false;
        if (!IPAddress.TryParse(text, out var ip) || ip.AddressFamily != AddressFamily.InterNetwork) return false;
        address = FromIPAddress(ip);
        return true;
    }

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 address");

    /// <summary>True when this address lies in <paramref name="network"/>/<paramref name="prefixLength"/>.</summary>
    public bool IsIn(Ipv4Address network, int prefixLength)
    {
        uint mask = prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        return (Value & mask) == (network.Value & mask);
    }

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
