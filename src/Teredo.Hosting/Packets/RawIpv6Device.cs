using System.Net;
using System.Net.Sockets;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Wire;

namespace Teredo.Hosting.Packets;

/// <summary>
/// A send-only packet device: whole IPv6 packets (header included) to the native IPv6 network through
/// AF_INET6 + IPPROTO_RAW, which on Linux implies IPV6_HDRINCL, so the packet keeps its Teredo source
/// address. The server relays its clients' ICMPv6 with it. Declare it unread: it has nothing to read.
/// </summary>
public sealed class RawIpv6Device : ITunDevice
{
    private readonly Socket _socket;

    [ThreadStatic]
    private static SocketAddress? t_destination;

    private RawIpv6Device(Socket socket) => _socket = socket;

    /// <summary>Null, with the reason, when the socket cannot be opened (no CAP_NET_RAW, no IPv6).</summary>
    public static RawIpv6Device? TryOpen(out string? error)
    {
        try
        {
            error = null;
            return new RawIpv6Device(new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.Raw));
        }
        catch (SocketException e)
        {
            error = e.Message;
            return null;
        }
    }

    public string Name => "raw-ipv6";

    public int Mtu => ushort.MaxValue;

    /// <exception cref="NotSupportedException">Always: the device only sends.</exception>
    public int Read(Span<byte> packet) => throw new NotSupportedException("the raw IPv6 device only sends");

    /// <exception cref="NotSupportedException">Always: the device only sends.</exception>
    public int TryRead(Span<byte> packet) => throw new NotSupportedException("the raw IPv6 device only sends");

    /// <exception cref="IOException">Not an IPv6 packet, or the kernel refused it.</exception>
    public void Write(ReadOnlySpan<byte> packet)
    {
        if (!Ipv6Packet.TryParse(packet, out var ipv6)) throw new IOException("not an IPv6 packet");
        var destination = t_destination ??= Ipv6SocketAddress.Create();
        Ipv6SocketAddress.Write(destination, ipv6.Destination);
        try { _socket.SendTo(packet, SocketFlags.None, destination); }
        catch (SocketException e) { throw new IOException(e.Message, e); }
    }

    public void Dispose() => _socket.Dispose();
}
