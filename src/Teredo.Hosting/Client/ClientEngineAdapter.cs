using Teredo.Client;
using Teredo.Engines;
using Teredo.Hosting.Packets;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>
/// Interim, until <see cref="TeredoClientEngine"/> implements <see cref="IPacketEngine{TEvent}"/> itself (issue 9
/// item 1): ports in <see cref="ClientPort"/> order (service, secondary, probe, discovery), the TUN device 0.
/// The first timer call starts qualification (due at once); after it maintenance runs every
/// <see cref="TimerPeriodMs"/> as the client daemon's timer thread did, for want of a deadline from the engine.
/// </summary>
internal sealed class ClientEngineAdapter(TeredoClientEngine engine) : IPacketEngine<ClientEvent>
{
    public const int TimerPeriodMs = 100;

    private readonly SinkOnOutput _sink = new();
    private bool _started;

    public long NextDeadlineMs { get; private set; } = long.MinValue;

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output) =>
        engine.FromUdp(nowMs, (ClientPort)port.Index, source, payload, _sink.On(output));

    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output) =>
        engine.FromTun(nowMs, packet, _sink.On(output));

    public void OnTimer(long nowMs, IPacketOutput output)
    {
        if (_started) engine.OnTimer(nowMs, _sink.On(output));
        else engine.Start(nowMs, _sink.On(output));
        _started = true;
        NextDeadlineMs = nowMs + TimerPeriodMs;
    }

    public bool TryTakeEvent(out ClientEvent engineEvent) => engine.TryTakeEvent(out engineEvent);
}
