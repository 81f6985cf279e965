using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// The harness's own driver, with no host in between: each arrival is one engine call on the network's
/// clock, the node's deadline is the engine's, and events are drained after every call. It is the
/// reference the packet host's manual driver (<see cref="HostNode"/>) is compared with.
/// </summary>
public sealed class EngineNode(SimulatedNetwork network, string name) : SimulatedNode(network, name), IPacketOutput
{
    private byte[] _scratch = new byte[65536];
    private IPacketEngine? _engine;
    private Action? _drainEvents;

    private IPacketEngine Engine => _engine ?? throw new InvalidOperationException($"{Name} is not started");

    /// <summary>Packets the engine sent on a port or wrote to a device the role did not bind.</summary>
    public int Unbound { get; private set; }

    public override long NextDeadlineMs => _engine?.NextDeadlineMs ?? long.MaxValue;

    public override void Start(IPacketEngine engine) => _engine = engine;

    public override void Start<TEvent>(IPacketEngine<TEvent> engine, Action<TEvent> onEvent)
    {
        _engine = engine;
        _drainEvents = () =>
        {
            while (engine.TryTakeEvent(out var e)) onEvent(e);
        };
    }

    public override void OnTimer(long nowMs)
    {
        Engine.OnTimer(nowMs, this);
        _drainEvents?.Invoke();
    }

    protected override void OnDatagram(PortHandle port, Ipv4Endpoint from, byte[] payload)
    {
        Engine.OnDatagram(Network.NowMs, port, from, payload, this);
        _drainEvents?.Invoke();
    }

    protected override void OnDevicePacket(DeviceHandle device, byte[] packet)
    {
        Engine.OnDevicePacket(Network.NowMs, device, packet, this);
        _drainEvents?.Invoke();
    }

    Span<byte> IPacketOutput.Reserve(int maxLength)
    {
        if (_scratch.Length < maxLength) _scratch = new byte[maxLength];
        return _scratch;
    }

    void IPacketOutput.Send(PortHandle from, Ipv4Endpoint to, int length)
    {
        if (Ports.TryGetValue(from, out var socket)) socket.Send(to, _scratch.AsSpan(0, length));
        else Unbound++;
    }

    void IPacketOutput.Write(DeviceHandle device, int length)
    {
        if (Devices.TryGetValue(device, out var target)) target.Write(_scratch.AsSpan(0, length));
        else Unbound++;
    }
}
