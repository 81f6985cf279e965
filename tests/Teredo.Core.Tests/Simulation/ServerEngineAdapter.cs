using Teredo.Engines;
using Teredo.Net;
using Teredo.Server;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Interim, until the engines branch lands: <see cref="TeredoServerEngine"/> behind the one engine contract.
/// Port 0 is the primary address, port 1 the secondary; device 0 is the native IPv6 output.
/// </summary>
internal sealed class ServerEngineAdapter(TeredoServerEngine engine) : IPacketEngine
{
    public TeredoServerEngine Engine { get; } = engine;
    public long NextDeadlineMs => long.MaxValue;

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
        var via = port.Index == 0 ? ServerAddress.Primary : ServerAddress.Secondary;
        var result = Engine.Process(nowMs, via, source, payload, output.Reserve(payload.Length + TeredoServerEngine.OutputHeadroom));
        if (result.Kind == ServerOutputKind.Udp) output.Send(new PortHandle(result.From == ServerAddress.Primary ? 0 : 1), result.To, result.Length);
        else if (result.Kind == ServerOutputKind.NativeIpv6) output.Write(new DeviceHandle(0), result.Length);
    }

    /// <summary>The server reads nothing from native IPv6.</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output)
    {
    }

    public void OnTimer(long nowMs, IPacketOutput output)
    {
    }
}
