using Teredo.Engines;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// One role on the simulated network, whatever drives it: the sockets bound for its engine's
/// <see cref="PortHandle"/>s and the devices for its <see cref="DeviceHandle"/>s (a role may leave an optional
/// one unbound), then <see cref="Start"/> with the engine. Subclasses say how an arrival reaches the
/// engine and what the clock does: <see cref="HostNode"/> runs it in the real packet host through its
/// manual driver, <see cref="EngineNode"/> calls the engine itself.
/// </summary>
public abstract class SimulatedNode : ISimulatedNode
{
    private readonly Dictionary<PortHandle, SimulatedSocket> _ports = [];
    private readonly Dictionary<DeviceHandle, SimulatedDevice> _devices = [];

    protected SimulatedNode(SimulatedNetwork network, string name)
    {
        Network = network;
        Name = name;
        network.AddNode(this);
    }

    public SimulatedNetwork Network { get; }
    public string Name { get; }
    public IReadOnlyDictionary<PortHandle, SimulatedSocket> Ports => _ports;
    public IReadOnlyDictionary<DeviceHandle, SimulatedDevice> Devices => _devices;
    public abstract long NextDeadlineMs { get; }

    /// <summary>Binds the engine's <paramref name="handle"/> to <paramref name="local"/> on <paramref name="host"/>.</summary>
    public SimulatedSocket AddPort(PortHandle handle, SimulatedHost host, Ipv4Endpoint local)
    {
        var socket = host.Bind(local, (from, payload) => OnDatagram(handle, from, payload));
        _ports.Add(handle, socket);
        OnPortAdded(handle, socket);
        return socket;
    }

    /// <summary>The engine's device <paramref name="handle"/>; connect its <see cref="SimulatedDevice.Peer"/> to where its packets go.</summary>
    public SimulatedDevice AddDevice(DeviceHandle handle, string name)
    {
        var device = new SimulatedDevice(Network, $"{Name} {name}", packet => OnDevicePacket(handle, packet));
        _devices.Add(handle, device);
        OnDeviceAdded(handle, device);
        return device;
    }

    /// <summary>Runs <paramref name="engine"/> on the ports and devices added so far.</summary>
    public abstract void Start(IPacketEngine engine);

    /// <summary>Runs <paramref name="engine"/>; its events go to <paramref name="onEvent"/>, oldest first.</summary>
    public abstract void Start<TEvent>(IPacketEngine<TEvent> engine, Action<TEvent> onEvent);

    public abstract void OnTimer(long nowMs);

    /// <summary>A socket was bound for <paramref name="port"/> (the host driver makes its in-memory bind here).</summary>
    protected virtual void OnPortAdded(PortHandle port, SimulatedSocket socket)
    {
    }

    /// <summary>A device was added for <paramref name="handle"/> (the host driver makes its in-memory TUN here).</summary>
    protected virtual void OnDeviceAdded(DeviceHandle handle, SimulatedDevice device)
    {
    }

    /// <summary>A datagram arrived at the socket bound for <paramref name="port"/>.</summary>
    protected abstract void OnDatagram(PortHandle port, Ipv4Endpoint from, byte[] payload);

    /// <summary>A packet for the engine to read from <paramref name="device"/>.</summary>
    protected abstract void OnDevicePacket(DeviceHandle device, byte[] packet);

    public override string ToString() => Name;
}
