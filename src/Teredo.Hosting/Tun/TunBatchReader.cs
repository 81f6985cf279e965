using Teredo.Hosting.Sockets;

namespace Teredo.Hosting.Tun;

/// <summary>
/// Reads what the kernel queued on a TUN into a batch of slots: waits for one packet (up to the device's
/// read timeout), then takes whatever else is already there without waiting, so that one engine pass and
/// one sendmmsg cover every packet of a wake-up.
/// </summary>
public static class TunBatchReader
{
    /// <summary>Fills <paramref name="packets"/> (cleared first); returns the count, 0 on timeout or when the device is gone.</summary>
    public static int Read(ITunDevice tun, UdpBatch packets)
    {
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
}
