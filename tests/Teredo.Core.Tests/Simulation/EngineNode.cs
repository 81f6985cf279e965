using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// One role on the simulated network: an <see cref="IPacketEngine"/> with its sockets (PortHandle n is the
/// n-th <see cref="AddPort"/>) and devices (DeviceHandle n is the n-th <see cref="AddDevice"/>). This is
/// the harness's own driver: each arrival is one engine call, and the node's deadline is the engine's.
/// </summary>
public class EngineNode : ISimulatedNode, IPacketOutput
{
    private readonly List<SimulatedSocket> _ports = [];
    private readonly List<SimulatedDevice> _devices = [];
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
    public IReadOnlyList<SimulatedSocket> Ports => _ports;
    public IReadOnlyList<SimulatedDevice> Devices => _devices;
    public long NextDeadlineMs => Engine.NextDeadlineMs;

    /// <summary>Binds the role's next port on <paramref name="host"/>.</summary>
    public SimulatedSocket AddPort(SimulatedHost host, Ipv4Endpoint local)
    {
        var handle = new PortHandle(_ports.Count);
        var socket = host.Bind(local, (from, payload) => Call(output => Engine.OnDatagram(Network.NowMs, handle, from, payload, output)));
        _ports.Add(socket);
        return socket;
    }

    /// <summary>Adds the role's next device; connect its <see cref="SimulatedDevice.Peer"/> to where its packets go.</summary>
    public SimulatedDevice AddDevice(string name)
    {
        var handle = new DeviceHandle(_devices.Count);
        var device = new SimulatedDevice(Network, $"{Name} {name}", packet =>
            Call(output => Engine.OnDevicePacket(Network.NowMs, handle, packet, output)));
        _devices.Add(device);
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

    void IPacketOutput.Send(PortHandle from, Ipv4Endpoint to, int length) => _ports[from.Index].Send(to, _scratch.AsSpan(0, length));

    void IPacketOutput.Write(DeviceHandle device, int length) => _devices[device.Index].Write(_scratch.AsSpan(0, length));

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
