using Teredo.Engines;
using Teredo.Hosting.Tun;

namespace Teredo.Hosting.Packets;

/// <summary>
/// One engine and what it talks through: its binds (by <see cref="PortHandle"/>), its devices (by
/// <see cref="DeviceHandle"/>), which of them the host reads for it, and its one timer. Every call into the
/// engine holds <see cref="Gate"/>, only while the engine decides; a role that reads the engine (status)
/// takes it too. Made by <see cref="PacketHost.AddShard"/>.
/// </summary>
public sealed class PacketShard
{
    private readonly ITunDevice?[] _devices;
    private readonly bool[] _readDevices;
    private long _sendErrors;

    internal PacketShard(string name, IPacketEngine engine, IReadOnlyList<IDatagramBind?> binds, IReadOnlyList<PortHandle>? read,
        int deviceCount, ShardEvents? events)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(deviceCount);
        Name = name;
        Engine = engine;
        Binds = [.. binds];
        ReadBinds = new bool[Binds.Length];
        for (int i = 0; i < Binds.Length; i++) ReadBinds[i] = read is null && Binds[i] is not null;
        if (read is not null)
        {
            foreach (var port in read)
            {
                if ((uint)port.Index >= (uint)Binds.Length || Binds[port.Index] is null)
                    throw new ArgumentException($"{name}: {port} has no bind to read", nameof(read));
                ReadBinds[port.Index] = true;
            }
        }
        _devices = new ITunDevice?[deviceCount];
        _readDevices = new bool[deviceCount];
        Events = events;
    }

    public string Name { get; }

    public IPacketEngine Engine { get; }

    /// <summary>Held while the engine decides (packets, timer) and while a role reads its state.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Datagrams and device packets the kernel (or the in-memory twin) refused, or that named a bind or device the shard lacks.</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Engine events dropped because the handler had fallen <see cref="PacketHostOptions.EventCapacity"/> behind.</summary>
    public long DroppedEvents => Events?.Dropped ?? 0;

    internal IDatagramBind?[] Binds { get; }
    internal bool[] ReadBinds { get; }
    internal ShardEvents? Events { get; }

    /// <summary>The engine's deadline the timer thread sleeps toward; lowered (with a wake-up) when a call moves it earlier. Under <see cref="Gate"/>.</summary>
    internal long ScheduledDeadline = long.MaxValue;
    internal ManualResetEventSlim TimerWake { get; } = new(false);

    internal int DeviceCount => _devices.Length;

    internal ITunDevice? Device(int index) => (uint)index < (uint)_devices.Length ? Volatile.Read(ref _devices[index]) : null;

    internal bool ReadsDevice(int index) => _readDevices[index];

    internal void SetDevice(DeviceHandle handle, ITunDevice device, bool read)
    {
        if ((uint)handle.Index >= (uint)_devices.Length) throw new ArgumentOutOfRangeException(nameof(handle), handle, $"{Name} has {_devices.Length} device(s)");
        if (_devices[handle.Index] is not null) throw new InvalidOperationException($"{Name}: {handle} is already attached");
        _readDevices[handle.Index] = read;
        Volatile.Write(ref _devices[handle.Index], device);
    }

    internal void CountSendErrors(long count)
    {
        if (count != 0) Interlocked.Add(ref _sendErrors, count);
    }
}
