using Teredo.Engines;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Tun;
using Teredo.Net;

namespace Teredo.Tests.Simulation;

/// <summary>
/// A role run the way the daemons run it: the real <see cref="PacketHost"/> with the role's engine as its
/// one shard, each port an <see cref="InMemoryBind"/> whose sends go into the simulated network, each
/// device an <see cref="InMemoryTun"/>, and the host's manual driver (<see cref="PacketHost.Pump"/>) on the
/// network's virtual clock instead of its threads. An arrival is queued on its bind or TUN and makes the
/// node due now; a pump then takes the host through its batches, the engine's timer and its events.
/// </summary>
public sealed class HostNode(SimulatedNetwork network, string name) : SimulatedNode(network, name), IDisposable
{
    private readonly PacketHost _host = new();
    private readonly Dictionary<PortHandle, InMemoryBind> _binds = [];
    private readonly Dictionary<DeviceHandle, InMemoryTun> _tuns = [];
    /// <summary>Something was queued for the host since its last pump.</summary>
    private bool _due;

    public PacketShard Shard { get; private set; } = null!;

    public override long NextDeadlineMs => Shard is null ? long.MaxValue : _due ? Network.NowMs : _host.NextDeadlineMs;

    public override void Start(IPacketEngine engine) =>
        Attach(_host.AddShard(Name, engine, Binds(), devices: DeviceCount()));

    public override void Start<TEvent>(IPacketEngine<TEvent> engine, Action<TEvent> onEvent) =>
        Attach(_host.AddShard(Name, engine, onEvent, Binds(), devices: DeviceCount()));

    public override void OnTimer(long nowMs)
    {
        _due = false;
        _host.Pump(nowMs);
        // What the engine wrote to its TUNs goes on to the devices' peers.
        foreach (var (handle, tun) in _tuns)
        {
            while (tun.TakeWritten(TimeSpan.Zero) is { } packet) Devices[handle].Write(packet);
        }
    }

    protected override void OnPortAdded(PortHandle port, SimulatedSocket socket) =>
        _binds.Add(port, new InMemoryBind(socket.Local, datagram => socket.Send(datagram.Destination, datagram.Payload)));

    protected override void OnDeviceAdded(DeviceHandle handle, SimulatedDevice device) =>
        _tuns.Add(handle, new InMemoryTun(device.Name));

    protected override void OnDatagram(PortHandle port, Ipv4Endpoint from, byte[] payload)
    {
        // A full queue drops, as a socket buffer does; the network has already counted it delivered.
        _binds[port].Deliver(from, payload);
        _due = true;
    }

    protected override void OnDevicePacket(DeviceHandle device, byte[] packet)
    {
        _tuns[device].Inject(packet);
        _due = true;
    }

    /// <summary>The binds in <see cref="PortHandle"/> order, null where the role bound none.</summary>
    private IDatagramBind?[] Binds()
    {
        var binds = new IDatagramBind?[_binds.Count == 0 ? 0 : _binds.Keys.Max(p => p.Index) + 1];
        foreach (var (port, bind) in _binds) binds[port.Index] = bind;
        return binds;
    }

    private int DeviceCount() => _tuns.Count == 0 ? 0 : _tuns.Keys.Max(d => d.Index) + 1;

    private void Attach(PacketShard shard)
    {
        Shard = shard;
        foreach (var (handle, tun) in _tuns) _host.Attach(shard, handle, tun);
    }

    /// <summary>Closes the host, which closes its binds and TUNs.</summary>
    public void Dispose() => _host.Dispose();
}
