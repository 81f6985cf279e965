using Teredo.Engines;
using Teredo.Net;
using Teredo.Relay;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Interim, until the engines branch lands: <see cref="TeredoRelayEngine"/> behind the one engine contract,
/// its timer polled every <paramref name="pollMs"/> as RelayDaemon does. Port 0 is UDP 3544, device 0 the TUN.
/// </summary>
internal sealed class RelayEngineAdapter(TeredoRelayEngine engine, long pollMs = 200) : IPacketEngine
{
    private readonly SinkToOutput _sink = new();

    public TeredoRelayEngine Engine { get; } = engine;
    public long NextDeadlineMs { get; private set; }

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
        _sink.Output = output;
        Engine.FromUdp(nowMs, source, payload, _sink);
    }

    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output)
    {
        _sink.Output = output;
        Engine.FromTun(nowMs, packet, _sink);
    }

    public void OnTimer(long nowMs, IPacketOutput output)
    {
        _sink.Output = output;
        Engine.OnTimer(nowMs, _sink);
        NextDeadlineMs = nowMs + pollMs;
    }
}
