using System.Net.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Net;

namespace Teredo.Hosting.Sockets;

/// <summary>One received datagram handed to an engine (under the daemon's lock).</summary>
public delegate void DatagramHandler(long nowMs, Ipv4Endpoint source, ReadOnlySpan<byte> payload);

/// <summary>One packet read from a TUN handed to an engine (under the daemon's lock).</summary>
public delegate void TunPacketHandler(long nowMs, ReadOnlySpan<byte> packet);

/// <summary>
/// The packet threads the daemons share: a batch per wake-up (recvmmsg, or the TUN drained into a batch),
/// decided under the daemon's lock, then the output flushed outside it (one sendmmsg).
/// </summary>
public static class PacketLoops
{
    public static void ReceiveUdp(Socket socket, Func<bool> stopping, object gate, DatagramHandler handle, Action flush, int batchSize, int slotSize)
    {
        using var rx = new UdpBatch(batchSize, slotSize);
        while (!stopping())
        {
            int n;
            try { n = rx.Receive(socket); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { if (stopping()) return; continue; }
            if (n == 0) continue;
            long now = Environment.TickCount64;
            lock (gate)
            {
                for (int i = 0; i < n; i++) handle(now, rx.Source(i), rx.Received(i));
            }
            flush();
        }
    }

    public static void ReadTun(ITunDevice tun, Func<bool> stopping, object gate, TunPacketHandler handle, Action flush, int batchSize, int slotSize)
    {
        using var packets = new UdpBatch(batchSize, slotSize);
        while (!stopping())
        {
            int n;
            try { n = TunBatchReader.Read(tun, packets); }
            catch (ObjectDisposedException) { return; }
            if (n == 0) continue;
            long now = Environment.TickCount64;
            lock (gate)
            {
                for (int i = 0; i < packets.Count; i++) handle(now, packets.Committed(i));
            }
            flush();
        }
    }
}
