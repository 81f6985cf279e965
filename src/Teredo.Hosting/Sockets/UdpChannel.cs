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

    public static UdpChannel Bind(Ipv4Endpoint local, bool reusePort, int bufferBytes = 4 << 20, bool reuseAddress = false)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (reusePort && OperatingSystem.IsLinux())
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
            if (reuseAddress) socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
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
