using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Interim, until the engines branch moves the client and relay onto <see cref="IPacketEngine"/>: an
/// <see cref="IPacketSink"/> that forwards to an <see cref="IPacketOutput"/>, turning the old route enum
/// into the role's handles (Udp: port 0, UdpSecondary: port 1, UdpProbe: port 2, Tun: device 0).
/// </summary>
internal sealed class SinkToOutput : IPacketSink
{
    public IPacketOutput? Output { get; set; }

    public Span<byte> Reserve(int maxLength) => Current.Reserve(maxLength);

    public void Commit(PacketRoute route, Ipv4Endpoint to, int length)
    {
        if (route == PacketRoute.Tun) Current.Write(new DeviceHandle(0), length);
        else Current.Send(new PortHandle(route switch { PacketRoute.UdpSecondary => 1, PacketRoute.UdpProbe => 2, _ => 0 }), to, length);
    }

    private IPacketOutput Current => Output ?? throw new InvalidOperationException("no call in progress");
}
