using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// Reads and writes the IPv4 socket address that <see cref="Socket.ReceiveFrom(Span{byte}, SocketFlags, SocketAddress)"/>
/// fills, so that receiving and sending need no <see cref="IPEndPoint"/> per packet. The buffer is the
/// native sockaddr_in: family, port (network order), address (network order).
/// </summary>
public static class Ipv4SocketAddress
{
    public static SocketAddress Create() => new IPEndPoint(IPAddress.Any, 0).Serialize();

    public static Ipv4Endpoint Read(SocketAddress address)
    {
        var b = address.Buffer.Span;
        return new Ipv4Endpoint(Ipv4Address.Read(b.Slice(4)), BinaryPrimitives.ReadUInt16BigEndian(b.Slice(2)));
    }

    public static void Write(SocketAddress address, Ipv4Endpoint endpoint)
    {
        var b = address.Buffer.Span;
        BinaryPrimitives.WriteUInt16BigEndian(b.Slice(2), endpoint.Port);
        endpoint.Address.Write(b.Slice(4));
    }
}

/// <summary>The same for IPv6 (sockaddr_in6: family, port, flow info, address, scope id).</summary>
public static class Ipv6SocketAddress
{
    public static SocketAddress Create() => new IPEndPoint(IPAddress.IPv6Any, 0).Serialize();

    public static void Write(SocketAddress address, Ipv6Address destination)
    {
        var b = address.Buffer.Span;
        destination.Write(b.Slice(8));
    }
}
