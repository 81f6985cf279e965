using System.Net;
using System.Net.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>
/// A UDP/IPv4 socket bound to one address and port. Several may share the address with SO_REUSEPORT,
/// so that the kernel spreads clients over one receive thread per core (it hashes the 4-tuple, so a
/// client always lands on the same thread).
/// </summary>
public sealed class UdpChannel : IDisposable
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    private UdpChannel(Socket socket, Ipv4Endpoint local)
    {
        Socket = socket;
        Local = local;
    }

    public Socket Socket { get; }
    public Ipv4Endpoint Local { get; }

    public static UdpChannel Bind(Ipv4Endpoint local, bool reusePort, int bufferBytes = 4 << 20)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (reusePort && OperatingSystem.IsLinux())
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            socket.ReceiveBufferSize = bufferBytes;
            socket.SendBufferSize = bufferBytes;
            socket.Bind(new IPEndPoint(local.Address.ToIPAddress(), local.Port));
            return new UdpChannel(socket, local);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Socket.Dispose();
}

/// <summary>
/// Sends whole IPv6 packets (header included) to the native IPv6 network: AF_INET6 + IPPROTO_RAW, which
/// on Linux implies IPV6_HDRINCL, so the packet keeps the client's Teredo source address.
/// </summary>
public sealed class RawIpv6Sender : IDisposable
{
    private readonly Socket _socket;

    private RawIpv6Sender(Socket socket) => _socket = socket;

    public static RawIpv6Sender? TryOpen(out string? error)
    {
        try
        {
            error = null;
            return new RawIpv6Sender(new Socket(AddressFamily.InterNetworkV6, SocketType.Raw, ProtocolType.Raw));
        }
        catch (SocketException e)
        {
            error = e.Message;
            return null;
        }
    }

    public void Send(ReadOnlySpan<byte> packet, Ipv6Address destination, SocketAddress scratch)
    {
        Ipv6SocketAddress.Write(scratch, destination);
        _socket.SendTo(packet, SocketFlags.None, scratch);
    }

    public void Dispose() => _socket.Dispose();
}
