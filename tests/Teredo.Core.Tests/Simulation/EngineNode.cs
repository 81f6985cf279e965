using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// One role on the simulated network: an <see cref="IPacketEngine"/> with the sockets bound for its
/// <see cref="PortHandle"/>s and the devices for its <see cref="DeviceHandle"/>s (a role may leave an
/// optional one unbound: what it sends there is counted in <see cref="Unbound"/>). This is the harness's
/// own driver: each arrival is one engine call, and the node's deadline is the engine's.
/// </summary>
public class EngineNode : ISimulatedNode, IPacketOutput
{
    private readonly Dictionary<PortHandle, SimulatedSocket> _ports = [];
    private readonly Dictionary<DeviceHandle, SimulatedDevice> _devices = [];
    private byte[] _scratch = new byte[65536];

    public EngineNode(SimulatedNetwork network, string name, IPacketEngine engine)
    {
        Network = network;
        Name = name;
        Engine = engine;
        network.AddNode(this);
    }

    public SimulatedNetwork Network { get; }
    public string Name { get; }
    public IPacketEngine Engine { get; }
    public IReadOnlyDictionary<PortHandle, SimulatedSocket> Ports => _ports;
    public IReadOnlyDictionary<DeviceHandle, SimulatedDevice> Devices => _devices;
    /// <summary>Packets the engine sent on a port or wrote to a device the role did not bind.</summary>
    public int Unbound { get; private set; }
    public long NextDeadlineMs => Engine.NextDeadlineMs;

    /// <summary>Binds the engine's <paramref name="handle"/> to <paramref name="local"/> on <paramref name="host"/>.</summary>
    public SimulatedSocket AddPort(PortHandle handle, SimulatedHost host, Ipv4Endpoint local)
    {
        var socket = host.Bind(local, (from, payload) => Call(output => Engine.OnDatagram(Network.NowMs, handle, from, payload, output)));
        _ports.Add(handle, socket);
        return socket;
    }

    /// <summary>The engine's device <paramref name="handle"/>; connect its <see cref="SimulatedDevice.Peer"/> to where its packets go.</summary>
    public SimulatedDevice AddDevice(DeviceHandle handle, string name)
    {
        var device = new SimulatedDevice(Network, $"{Name} {name}", packet =>
            Call(output => Engine.OnDevicePacket(Network.NowMs, handle, packet, output)));
        _devices.Add(handle, device);
        return device;
    }

    public void OnTimer(long nowMs) => Call(output => Engine.OnTimer(nowMs, output));

    /// <summary>One call into the engine, then whatever the node does after every call (<see cref="AfterCall"/>).</summary>
    protected void Call(Action<IPacketOutput> call)
    {
        call(this);
        AfterCall();
    }

    /// <summary>Drains the engine's events, in nodes whose engine has them.</summary>
    protected virtual void AfterCall()
    {
    }

    Span<byte> IPacketOutput.Reserve(int maxLength)
    {
        if (_scratch.Length < maxLength) _scratch = new byte[maxLength];
        return _scratch;
    }

    void IPacketOutput.Send(PortHandle from, Ipv4Endpoint to, int length)
    {
        if (_ports.TryGetValue(from, out var socket)) socket.Send(to, _scratch.AsSpan(0, length));
        else Unbound++;
    }

    void IPacketOutput.Write(DeviceHandle device, int length)
    {
        if (_devices.TryGetValue(device, out var target)) target.Write(_scratch.AsSpan(0, length));
        else Unbound++;
    }

    public override string ToString() => Name;
}

/// <summary>An <see cref="EngineNode"/> whose engine raises events: they are drained after every call, kept in <see cref="Events"/> and handed to <see cref="EventRaised"/>.</summary>
public sealed class EngineNode<TEvent>(SimulatedNetwork network, string name, IPacketEngine<TEvent> engine) : EngineNode(network, name, engine)
{
    public new IPacketEngine<TEvent> Engine { get; } = engine;
    public List<TEvent> Events { get; } = [];
    public event Action<TEvent>? EventRaised;

    protected override void AfterCall()
    {
        while (Engine.TryTakeEvent(out var e))
        {
            Events.Add(e);
            EventRaised?.Invoke(e);
        }
    }
}
