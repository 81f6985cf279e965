using Teredo.Engines;
using Teredo.Hosting.Packets;
using Teredo.Net;
using Teredo.Server;

namespace Teredo.Hosting.Server;

/// <summary>
/// Interim, until <see cref="TeredoServerEngine"/> implements <see cref="IPacketEngine"/> itself (issue 9
/// item 1): port 0 is the primary address, port 1 the secondary, device 0 the raw IPv6 socket. The server
/// keeps no timers.
/// </summary>
internal sealed class ServerEngineAdapter(TeredoServerEngine engine) : IPacketEngine
{
    public static readonly PortHandle Primary = new(0);
    public static readonly PortHandle Secondary = new(1);
    public static readonly DeviceHandle NativeIpv6 = new(0);

    public TeredoServerEngine Engine => engine;

    public long NextDeadlineMs => long.MaxValue;

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
        var via = port == Secondary ? ServerAddress.Secondary : ServerAddress.Primary;
        var result = engine.Process(nowMs, via, source, payload, output.Reserve(payload.Length + TeredoServerEngine.OutputHeadroom));
        switch (result.Kind)
        {
            case ServerOutputKind.Udp:
                output.Send(result.From == ServerAddress.Secondary ? Secondary : Primary, result.To, result.Length);
                break;
            case ServerOutputKind.NativeIpv6:
                output.Write(NativeIpv6, result.Length);
                break;
        }
    }

    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output)
    {
        // Nothing reads the raw socket: no packet comes this way.
    }

    public void OnTimer(long nowMs, IPacketOutput output)
    {
    }
}
