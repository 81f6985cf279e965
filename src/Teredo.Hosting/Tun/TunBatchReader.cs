using Teredo.Hosting.Sockets;
using Teredo.Hosting.Systemd;

namespace Teredo.Hosting.Tun;

/// <summary>
/// Reads what the kernel queued on a TUN into a batch of slots: waits for one packet (up to the device's
/// read timeout), then takes whatever else is already there without waiting, so that one engine pass and
/// one sendmmsg cover every packet of a wake-up.
/// </summary>
public static class TunBatchReader
{
    /// <summary>
    /// Fills <paramref name="packets"/> (cleared first); returns the count, 0 on timeout or when the device is
    /// gone. With <paramref name="wait"/> false, only what is queued now (the packet host's manual driver).
    /// Every call is the calling packet loop's proof of life for the systemd watchdog.
    /// </summary>
    public static int Read(ITunDevice tun, UdpBatch packets, bool wait = true)
    {
        LoopLiveness.Beat();
        packets.Clear();
        try
        {
            int n = wait ? tun.Read(packets.Next()) : tun.TryRead(packets.Next());
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
