namespace Teredo.Net;

/// <summary>An IPv4 address and UDP port: what a NAT mapping, a Teredo peer or a relay is reached at.</summary>
public readonly record struct Ipv4Endpoint(Ipv4Address Address, ushort Port)
{
    public override string ToString() => $"{Address}:{Port}";
}
