using System.Net;
using System.Net.Sockets;
using Teredo.Hosting.Sockets;
using Teredo.Net;

namespace Teredo.Hosting.Packets;

/// <summary>
/// The kernel's <see cref="IDatagramBind"/>: a UDP/IPv4 socket read with recvmmsg (a receive timeout so
/// the loop sees shutdown) and written with sendmmsg, as one UDP GSO message per run of same-size
/// datagrams to one destination when <see cref="UdpBindOptions.Segmentation"/> is on.
/// </summary>
public sealed class UdpBind : IDatagramBind
{
    private readonly UdpChannel _channel;
    private readonly bool _segmentation;
    private volatile bool _closed;

    private UdpBind(UdpChannel channel, bool segmentation)
    {
        _channel = channel;
        _segmentation = segmentation;
        var bound = (IPEndPoint)channel.Socket.LocalEndPoint!;
        Local = new Ipv4Endpoint(Ipv4Address.FromIPAddress(bound.Address), (ushort)bound.Port);
    }

    /// <summary>Binds <paramref name="local"/> (port 0: the kernel picks; <see cref="Local"/> says which).</summary>
    /// <exception cref="SocketException">The address is not this host's or the port is taken.</exception>
    public static UdpBind Open(Ipv4Endpoint local, UdpBindOptions? options = null)
    {
        options ??= new UdpBindOptions();
        options.Validate();
        var channel = UdpChannel.Bind(local, options.ReusePort, options.BufferBytes, options.ReuseAddress);
        try
        {
            UdpBatch.SetReceiveTimeout(channel.Socket, TimeSpan.FromMilliseconds(options.ReceiveTimeoutMs));
            return new UdpBind(channel, options.Segmentation);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    public Ipv4Endpoint Local { get; }

    /// <summary>The socket itself, for the few options a role sets after binding (the client's multicast interface).</summary>
    public Socket Socket => _channel.Socket;

    public int Receive(UdpBatch batch) => Receive(batch, wait: true);

    public int Poll(UdpBatch batch) => Receive(batch, wait: false);

    private int Receive(UdpBatch batch, bool wait)
    {
        // A closed socket's handle reads as -1 and recvmmsg fails with EBADF: say "closed" instead.
        ObjectDisposedException.ThrowIf(_closed, this);
        try
        {
            return batch.Receive(_channel.Socket, wait);
        }
        catch (SocketException)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            // An ICMP error for an earlier send surfaces as ECONNREFUSED on the next receive: nothing arrived.
            return 0;
        }
    }

    public int Send(UdpBatch batch)
    {
        batch.Segmentation = _segmentation;
        return batch.SendReportingLoss(_channel.Socket);
    }

    public void Dispose()
    {
        _closed = true;
        _channel.Dispose();
    }
}
