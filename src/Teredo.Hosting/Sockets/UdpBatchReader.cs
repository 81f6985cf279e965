using System.Net.Sockets;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>An engine's entry point for one datagram received on its UDP socket (its OnDatagram, for that socket's port).</summary>
public delegate void UdpDatagramHandler(long nowMs, Ipv4Endpoint source, ReadOnlySpan<byte> datagram, IPacketOutput output);

/// <summary>The receive side of a UDP packet thread, as <see cref="Tun.TunBatchReader"/> is the TUN side.</summary>
public static class UdpBatchReader
{
    /// <summary>
    /// One wake-up: receives a batch (recvmmsg, up to the socket's receive timeout), hands every datagram to
    /// <paramref name="engine"/> under <paramref name="gate"/>, then sends what it wrote outside the lock.
    /// False when the socket is gone (closed at shutdown): the thread should end.
    /// </summary>
    public static bool ReceiveAndProcess(Socket socket, UdpBatch rx, object gate, UdpDatagramHandler engine, BatchSink sink)
    {
        int n;
        try { n = rx.Receive(socket); }
        catch (ObjectDisposedException) { return false; }
        catch (SocketException) { return true; }
        if (n == 0) return true;
        long now = Environment.TickCount64;
        lock (gate)
        {
            for (int i = 0; i < n; i++) engine(now, rx.Source(i), rx.Received(i), sink);
        }
        sink.Flush();
        return true;
    }
}
