using Teredo.Net;

namespace Teredo.Engines;

/// <summary>
/// Where an engine writes what it decided to send: straight into the host's send buffers (native slots for
/// sendmmsg in a daemon, a list in tests). The engine decides; the host sends, outside any engine lock.
/// </summary>
public interface IPacketOutput
{
    /// <summary>A buffer of at least <paramref name="maxLength"/> bytes for the next packet; valid until the next call.</summary>
    Span<byte> Reserve(int maxLength);

    /// <summary>Sends the <paramref name="length"/> bytes written into the last reserved buffer as a UDP datagram from <paramref name="from"/>.</summary>
    void Send(PortHandle from, Ipv4Endpoint to, int length);

    /// <summary>Writes the <paramref name="length"/> bytes written into the last reserved buffer, a whole IP packet, to <paramref name="device"/>.</summary>
    void Write(DeviceHandle device, int length);
}
