using Teredo.Net;

namespace Teredo.Common;

/// <summary>Where an engine's output goes: over UDP/IPv4 or into the IPv6 interface (TUN).</summary>
public enum PacketRoute
{
    Udp,
    Tun,
    /// <summary>Over UDP from the Teredo client's secondary port (RFC 4380 §5.2.7), the only engine that has one.</summary>
    UdpSecondary,
    /// <summary>Over UDP from the Teredo client's cone-probe socket (its qualification's NAT test).</summary>
    UdpProbe,
}

/// <summary>
/// Engines write their output packets straight into the host's send buffers through this sink
/// (a batch of native slots for sendmmsg, a list in tests): the engine decides, the host sends.
/// </summary>
public interface IPacketSink
{
    /// <summary>A buffer of at least <paramref name="maxLength"/> bytes for the next packet.</summary>
    Span<byte> Reserve(int maxLength);

    /// <summary>Hands over the packet written into the last reserved buffer.</summary>
    void Commit(PacketRoute route, Ipv4Endpoint to, int length);
}
