using Teredo.Client;
using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// Interim, until the engines branch lands: <see cref="TeredoClientEngine"/> behind the one engine contract,
/// its timer polled every <paramref name="pollMs"/> as ClientDaemon does, started at its first timer.
/// Ports follow <see cref="ClientPort"/> (service, secondary, probe, discovery); device 0 is the TUN.
/// </summary>
internal sealed class ClientEngineAdapter(TeredoClientEngine engine, long pollMs = 100) : IPacketEngine<ClientEvent>
{
    private readonly SinkToOutput _sink = new();
    private bool _started;

    public TeredoClientEngine Engine { get; } = engine;
    public long NextDeadlineMs { get; private set; }

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
        _sink.Output = output;
        Engine.FromUdp(nowMs, (ClientPort)port.Index, source, payload, _sink);
    }

    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output)
    {
        _sink.Output = output;
        Engine.FromTun(nowMs, packet, _sink);
    }

    public void OnTimer(long nowMs, IPacketOutput output)
    {
        _sink.Output = output;
        if (!_started)
        {
            _started = true;
            Engine.Start(nowMs, _sink);
        }
        Engine.OnTimer(nowMs, _sink);
        NextDeadlineMs = nowMs + pollMs;
    }

    public bool TryTakeEvent(out ClientEvent engineEvent) => Engine.TryTakeEvent(out engineEvent);
}
