using Teredo.Engines;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Systemd;

namespace Teredo.Hosting.Tun;

/// <summary>An engine's entry point for one packet read from a TUN (its OnDevicePacket, for that device).</summary>
public delegate void TunPacketHandler(long nowMs, ReadOnlySpan<byte> packet, IPacketOutput output);

/// <summary>
/// Reads what the kernel queued on a TUN into a batch of slots: waits for one packet (up to the device's
/// read timeout), then takes whatever else is already there without waiting, so that one engine pass and
/// one sendmmsg cover every packet of a wake-up.
/// </summary>
public static class TunBatchReader
{
    /// <summary>
    /// Fills <paramref name="packets"/> (cleared first); returns the count, 0 on timeout or when the device is
    /// gone. Every call is the calling packet loop's proof of life for the systemd watchdog.
    /// </summary>
    public static int Read(ITunDevice tun, UdpBatch packets)
    {
        LoopLiveness.Beat();
        packets.Clear();
        try
        {
            int n = tun.Read(packets.Next());
            if (n <= 0) return 0;
            packets.Commit(n, default);
            while (!packets.IsFull && (n = tun.TryRead(packets.Next())) > 0) packets.Commit(n, default);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The device went away (shutdown or deletion): pause rather than spin, the caller decides.
            Thread.Sleep(100);
            return 0;
        }
        return packets.Count;
    }

    /// <summary>
    /// One wake-up of a TUN packet thread: reads a batch, hands every packet to <paramref name="engine"/> under
    /// <paramref name="gate"/> (held only while the engine decides), then sends what it wrote outside the lock.
    /// </summary>
    public static void ReadAndProcess(ITunDevice tun, UdpBatch packets, object gate, TunPacketHandler engine, BatchSink sink)
    {
        if (Read(tun, packets) == 0) return;
        long now = Environment.TickCount64;
        lock (gate)
        {
            for (int i = 0; i < packets.Count; i++) engine(now, packets.Committed(i), sink);
        }
        sink.Flush();
    }
}
