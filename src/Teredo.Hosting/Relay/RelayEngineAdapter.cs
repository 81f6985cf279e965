using Teredo.Engines;
using Teredo.Hosting.Packets;
using Teredo.Net;
using Teredo.Relay;

namespace Teredo.Hosting.Relay;

/// <summary>
/// Interim, until <see cref="TeredoRelayEngine"/> implements <see cref="IPacketEngine"/> itself (issue 9
/// item 1): its UDP socket is port 0, its TUN device 0, and its maintenance runs every
/// <see cref="TimerPeriodMs"/> as the relay daemon's timer thread did, for want of a deadline from the engine.
/// </summary>
internal sealed class RelayEngineAdapter(TeredoRelayEngine engine) : IPacketEngine
{
    public const int TimerPeriodMs = 200;

    private readonly SinkOnOutput _sink = new();

    public TeredoRelayEngine Engine => engine;

    public long NextDeadlineMs { get; private set; }

    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output) =>
        engine.FromUdp(nowMs, source, payload, _sink.On(output));

    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output) =>
        engine.FromTun(nowMs, packet, _sink.On(output));

    public void OnTimer(long nowMs, IPacketOutput output)
    {
        engine.OnTimer(nowMs, _sink.On(output));
        NextDeadlineMs = nowMs + TimerPeriodMs;
    }
}
