using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Hosting.Packets;

/// <summary>
/// Interim, until the engines take an <see cref="IPacketOutput"/> themselves (issue 9 item 1): the old
/// route-enum sink written onto the host's output. Routes map to the roles' declared handles: UDP from
/// port 0 (the service socket), the client's secondary port 1 and probe port 2, the TUN device 0.
/// One per engine, used under its shard's lock; nothing allocated per packet.
/// </summary>
internal sealed class SinkOnOutput : IPacketSink
{
    public static readonly PortHandle Service = new(0);
    public static readonly PortHandle Secondary = new(1);
    public static readonly PortHandle Probe = new(2);
    public static readonly DeviceHandle Tun = new(0);

    private IPacketOutput? _output;

    /// <summary>Points the sink at the output of the call in progress and returns it.</summary>
    public IPacketSink On(IPacketOutput output)
    {
        _output = output;
        return this;
    }

    public Span<byte> Reserve(int maxLength) => _output!.Reserve(maxLength);

    public void Commit(PacketRoute route, Ipv4Endpoint to, int length)
    {
        switch (route)
        {
            case PacketRoute.Tun: _output!.Write(Tun, length); break;
            case PacketRoute.UdpSecondary: _output!.Send(Secondary, to, length); break;
            case PacketRoute.UdpProbe: _output!.Send(Probe, to, length); break;
            default: _output!.Send(Service, to, length); break;
        }
    }
}
