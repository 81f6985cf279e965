using System.Net.Sockets;

namespace Teredo.Hosting.Sockets;

/// <summary>TCP settings of the P2P control sessions that .NET has no named option for.</summary>
public static class TcpOptions
{
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18; // linux/tcp.h

    /// <summary>
    /// How long sent control data may stay unacknowledged before the kernel gives the connection up. With
    /// keepalives minutes apart this is what finds a vanished peer (or coordinator) quickly whenever there
    /// is something to say: a notification or keepalive that is not acknowledged within it ends the session,
    /// instead of TCP retransmitting for ~15 minutes (tcp_retries2).
    /// </summary>
    public static readonly TimeSpan ControlUserTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Sets TCP_USER_TIMEOUT (Linux; elsewhere nothing happens).</summary>
    public static void SetUserTimeout(Socket socket, TimeSpan timeout)
    {
        if (!OperatingSystem.IsLinux()) return;
        Span<byte> value = stackalloc byte[4];
        BitConverter.TryWriteBytes(value, (int)timeout.TotalMilliseconds); // an int in host order
        try { socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, value); }
        catch (SocketException) { }
    }
}
