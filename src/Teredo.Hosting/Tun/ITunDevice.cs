namespace Teredo.Hosting.Tun;

/// <summary>
/// A layer-3 tunnel interface as the engines see it (in the spirit of wireguard-go's tun.Device): whole
/// IPv6 or IPv4 packets in and out, no link header and no packet-information prefix. Implementations
/// must allow one thread in <see cref="Read"/> while another calls <see cref="Write"/> or Dispose.
/// </summary>
public interface ITunDevice : IDisposable
{
    /// <summary>The interface name, as the kernel (or the test double) knows it.</summary>
    string Name { get; }

    /// <summary>The interface MTU: the largest packet <see cref="Write"/> should be given and <see cref="Read"/> can return.</summary>
    int Mtu { get; }

    /// <summary>
    /// Blocks for one packet and copies it into <paramref name="packet"/>; returns its length. Returns 0
    /// when the device was disposed or the read timeout elapsed, so a reader loop can check for shutdown
    /// without a second wake-up mechanism. The buffer should hold at least <see cref="Mtu"/> bytes.
    /// </summary>
    int Read(Span<byte> packet);

    /// <summary>
    /// Like <see cref="Read"/> but never waits: 0 when no packet is queued. Readers drain the queue with
    /// it after a blocking read, so that one batch of packets costs one pass of the engine and one
    /// sendmmsg.
    /// </summary>
    int TryRead(Span<byte> packet);

    /// <summary>Hands one whole packet to the interface (the host's stack receives it).</summary>
    void Write(ReadOnlySpan<byte> packet);

    /// <summary><see cref="Write"/> for packet loops: false instead of an exception when the device is gone.</summary>
    bool TryWrite(ReadOnlySpan<byte> packet)
    {
        try
        {
            Write(packet);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return false;
        }
    }
}
