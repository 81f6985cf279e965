using Teredo.Net;

namespace Teredo.Addressing;

/// <summary>
/// A Teredo IPv6 address (RFC 4380 §4): prefix (32 bits) | server IPv4 | flags | obfuscated mapped port |
/// obfuscated mapped IPv4. The same 64-bit identifier behind fe80::/64 is the Teredo link-local address.
/// </summary>
public readonly record struct TeredoAddress(Ipv6Address Address)
{
    /// <summary>The Teredo service prefix 2001:0000::/32 (RFC 4380 §2.6).</summary>
    public static readonly Ipv6Address ServicePrefix = new(0x2001_0000_0000_0000, 0);
    public const int ServicePrefixLength = 32;
    public const ushort Port = 3544;

    private static readonly Ipv6Address LinkLocalPrefix = new(0xFE80_0000_0000_0000, 0);

    /// <summary>True when the address lies in the default Teredo service prefix 2001::/32.</summary>
    public static bool IsTeredo(Ipv6Address address) => IsTeredo(address, ServicePrefix);

    /// <summary>True when the address lies in <paramref name="servicePrefix"/>/32 (Miredo lets a deployment pick another one).</summary>
    public static bool IsTeredo(Ipv6Address address, Ipv6Address servicePrefix) =>
        address.IsIn(servicePrefix, ServicePrefixLength);

    public static bool TryCreate(Ipv6Address address, out TeredoAddress teredo)
    {
        teredo = IsTeredo(address) ? new TeredoAddress(address) : default;
        return IsTeredo(address);
    }

    public static TeredoAddress Create(Ipv4Address server, TeredoFlags flags, Ipv4Endpoint mapped) =>
        Create(ServicePrefix, server, flags, mapped);

    public static TeredoAddress Create(Ipv6Address servicePrefix, Ipv4Address server, TeredoFlags flags, Ipv4Endpoint mapped)
    {
        ulong upper = (servicePrefix.Upper & 0xFFFF_FFFF_0000_0000) | server.Value;
        return new TeredoAddress(new Ipv6Address(upper, InterfaceIdentifier(flags, mapped)));
    }

    /// <summary>
    /// The client's address from the /64 prefix of the server's Router Advertisement and the mapping
    /// its origin indication reported (RFC 4380 §5.2.1).
    /// </summary>
    public static TeredoAddress FromPrefix(Ipv6Address prefix64, TeredoFlags flags, Ipv4Endpoint mapped) =>
        new(new Ipv6Address(prefix64.Upper, InterfaceIdentifier(flags, mapped)));

    /// <summary>fe80::/64 with the Teredo identifier; may carry a private IPv4 address (RFC 4380 §4).</summary>
    public static Ipv6Address LinkLocal(TeredoFlags flags, Ipv4Endpoint mapped) =>
        new(LinkLocalPrefix.Upper, InterfaceIdentifier(flags, mapped));

    private static ulong InterfaceIdentifier(TeredoFlags flags, Ipv4Endpoint mapped) =>
        (ulong)flags.Value << 48 | (ulong)(ushort)~mapped.Port << 32 | (uint)~mapped.Address.Value;

    public Ipv4Address Server => new((uint)Address.Upper);
    public TeredoFlags Flags => new((ushort)(Address.Lower >> 48));
    /// <summary>The client's mapped UDP port, de-obfuscated.</summary>
    public ushort MappedPort => (ushort)~(ushort)(Address.Lower >> 32);
    /// <summary>The client's mapped IPv4 address, de-obfuscated.</summary>
    public Ipv4Address MappedAddress => new(~(uint)Address.Lower);
    public Ipv4Endpoint Mapped => new(MappedAddress, MappedPort);

    public override string ToString() => Address.ToString();
}
