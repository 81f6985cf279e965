namespace Teredo.Wire;

/// <summary>IANA protocol numbers used in IPv4 Protocol and IPv6 Next Header fields.</summary>
public static class IpProtocol
{
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmpv6 = 58;
    /// <summary>No Next Header: the payload of a Teredo bubble (RFC 4380 §2.8).</summary>
    public const byte NoNextHeader = 59;
}
