using Teredo.Engines;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Systemd;
using Teredo.Hosting.Tun;

namespace Teredo.Hosting.Packets;

/// <summary>
/// Runs packet engines (<see cref="IPacketEngine"/>) over binds and devices: the receive loops, the
/// batching, the engines' timers, their events, the watchdog's proof of life, send-error counting and
/// shutdown, once for every role. A role adds its shards (an engine with its binds and devices), then
/// either <see cref="Start"/>s the threaded driver (a daemon) or calls <see cref="Pump"/> with a virtual
/// clock (tests, the simulated network: no threads, deterministic). Both drivers dispatch through the
/// same code.
/// <para>Threads, per shard: one receive loop per read bind and per read device (a batch per wake-up,
/// the engine called under the shard's lock, the output sent after it is released) and one timer thread
/// that sleeps until the engine's <see cref="IPacketEngine.NextDeadlineMs"/>, woken early when a call
/// moves the deadline earlier. One more thread, once <see cref="StartEvents"/> is called, hands the
/// engines' events to the role's handlers in order, so that a slow handler (ip(8)) never holds up
/// packets. Shards share no lock: the server's shards, one per SO_REUSEPORT socket, run side by side.</para>
/// </summary>
public sealed class PacketHost : IDisposable
{
    private readonly PacketHostOptions _options;
    private readonly List<PacketShard> _shards = [];
    private readonly List<Thread> _threads = [];
    private readonly Dictionary<PacketShard, HostOutput> _pumpOutputs = [];
    private readonly ManualResetEventSlim _eventsWake = new(false);
    private readonly List<IDisposable> _owned = [];
    private UdpBatch? _pumpBatch;
    private readonly Lock _invokeLock = new();
    private readonly Dictionary<PacketShard, HostOutput> _invokeOutputs = [];
    private volatile bool _stopping;
    private bool _started;
    private bool _disposed;

    public PacketHost(PacketHostOptions? options = null)
    {
        _options = options ?? new PacketHostOptions();
        _options.Validate();
    }

    public IReadOnlyList<PacketShard> Shards => _shards;

    public bool Stopping => _stopping;

    /// <summary>The host's threads still running (tests: none after <see cref="Dispose"/>).</summary>
    internal int LiveThreads
    {
        get
        {
            lock (_threads)
            {
                int live = 0;
                foreach (var t in _threads) if (t.IsAlive) live++;
                return live;
            }
        }
    }

    /// <summary>Every shard's <see cref="PacketShard.SendErrors"/>.</summary>
    public long SendErrors
    {
        get
        {
            long sum = 0;
            foreach (var s in _shards) sum += s.SendErrors;
            return sum;
        }
    }

    /// <summary>
    /// Adds an engine without events. <paramref name="binds"/> are its ports in <see cref="PortHandle"/> order
    /// (null: a port this run does not have; a send from it is a send error); <paramref name="read"/> names
    /// the ones this shard receives from (null: all of them; binds shared between shards are read by one).
    /// <paramref name="devices"/> slots are filled with <see cref="Attach"/>. The host owns and closes them all.
    /// </summary>
    public PacketShard AddShard(string name, IPacketEngine engine, IReadOnlyList<IDatagramBind?> binds,
        IReadOnlyList<PortHandle>? read = null, int devices = 0) =>
        Add(new PacketShard(name, engine, binds, read, devices, null));

    /// <summary><see cref="AddShard"/> for an engine with events: <paramref name="onEvent"/> gets them, oldest first, off the packet path.</summary>
    public PacketShard AddShard<TEvent>(string name, IPacketEngine<TEvent> engine, Action<TEvent> onEvent, IReadOnlyList<IDatagramBind?> binds,
        IReadOnlyList<PortHandle>? read = null, int devices = 0) =>
        Add(new PacketShard(name, engine, binds, read, devices, new ShardEvents<TEvent>(engine, onEvent, _options.EventCapacity)));

    private PacketShard Add(PacketShard shard)
    {
        if (_started) throw new InvalidOperationException("shards are added before the host starts");
        _shards.Add(shard);
        return shard;
    }

    /// <summary>
    /// Puts <paramref name="device"/> at <paramref name="handle"/> of <paramref name="shard"/>, before or after
    /// <see cref="Start"/> (the client's TUN comes up while it qualifies); when <paramref name="read"/>, a loop
    /// reads it. Until then the engine's writes to it are send errors.
    /// </summary>
    public void Attach(PacketShard shard, DeviceHandle handle, ITunDevice device, bool read = true)
    {
        shard.SetDevice(handle, device, read);
        if (_started && read) StartThread($"{shard.Name}-dev{handle.Index}", () => DeviceLoop(shard, handle.Index));
    }

    /// <summary>
    /// Makes the host close <paramref name="resource"/> at <see cref="Dispose"/>, after the threads ended: what a
    /// role opens (binds, a TUN, its status endpoints) is closed once and in one place, even when its start
    /// failed before the resource reached a shard. Returns it.
    /// </summary>
    public T Own<T>(T resource) where T : IDisposable
    {
        lock (_owned) _owned.Add(resource);
        return resource;
    }

    // ---- the threaded driver ----

    /// <summary>Starts the receive loops and the timers. Events wait (up to the capacity) until <see cref="StartEvents"/>.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_started) throw new InvalidOperationException("the host is already started");
        _started = true;
        foreach (var shard in _shards)
        {
            for (int i = 0; i < shard.Binds.Length; i++)
            {
                int port = i;
                if (shard.ReadBinds[i]) StartThread($"{shard.Name}-udp{i}", () => BindLoop(shard, port));
            }
            for (int i = 0; i < shard.DeviceCount; i++)
            {
                int device = i;
                if (shard.Device(i) is not null && shard.ReadsDevice(i)) StartThread($"{shard.Name}-dev{i}", () => DeviceLoop(shard, device));
            }
            StartThread($"{shard.Name}-timer", () => TimerLoop(shard));
        }
    }

    /// <summary>
    /// Starts handing events to the shards' handlers, on a thread of their own. <paramref name="first"/> runs
    /// on that thread before any event (the client gives up root there, as that thread runs ip(8));
    /// its exception is rethrown here and no event is handled.
    /// </summary>
    public void StartEvents(Action? first = null)
    {
        if (!_started) throw new InvalidOperationException("start the host first");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        StartThread("events", () =>
        {
            try
            {
                first?.Invoke();
                ready.SetResult();
            }
            catch (Exception e)
            {
                ready.SetException(e);
                return;
            }
            EventLoop();
        });
        ready.Task.GetAwaiter().GetResult();
    }

    private void StartThread(string name, ThreadStart body)
    {
        var thread = new Thread(body) { IsBackground = true, Name = $"{_options.ThreadPrefix}-{name}" };
        lock (_threads) _threads.Add(thread);
        thread.Start();
    }

    private void BindLoop(PacketShard shard, int port)
    {
        var bind = shard.Binds[port]!;
        using var rx = new UdpBatch(_options.BatchSize, _options.SlotSize);
        using var output = NewOutput(shard);
        while (!_stopping)
        {
            LoopLiveness.Beat();
            int n;
            try { n = bind.Receive(rx); }
            catch (ObjectDisposedException) { return; }
            if (n == 0) continue;
            OnDatagrams(shard, new PortHandle(port), rx, n, _options.Clock(), output);
        }
    }

    private void DeviceLoop(PacketShard shard, int index)
    {
        var device = shard.Device(index)!;
        using var packets = new UdpBatch(_options.BatchSize, _options.SlotSize);
        using var output = NewOutput(shard);
        while (!_stopping)
        {
            // Beats for the watchdog; 0 on the device's read timeout, at shutdown, or after a pause when it failed.
            if (TunBatchReader.Read(device, packets) == 0) continue;
            OnDevicePackets(shard, new DeviceHandle(index), packets, _options.Clock(), output);
        }
    }

    /// <summary>
    /// Sleeps until the engine's deadline, fires it, repeats. A call that moves the deadline earlier wakes it
    /// (<see cref="AfterCall"/>); with nothing due it still wakes every <see cref="PacketHostOptions.IdleTimerWakeMs"/> to beat.
    /// </summary>
    private void TimerLoop(PacketShard shard)
    {
        using var output = NewOutput(shard);
        while (!_stopping)
        {
            LoopLiveness.Beat();
            // Reset before reading the deadline: a call that lowers it after this point sets the event again.
            shard.TimerWake.Reset();
            long now = _options.Clock();
            long wait = Fire(shard, now, output);
            if (wait > 0) shard.TimerWake.Wait((int)Math.Min(wait, _options.IdleTimerWakeMs));
        }
    }

    private void EventLoop()
    {
        while (true)
        {
            _eventsWake.Reset();
            int ran = 0;
            foreach (var shard in _shards) ran += shard.Events?.Dispatch() ?? 0;
            if (_stopping) return;
            if (ran == 0) _eventsWake.Wait(_options.IdleTimerWakeMs);
        }
    }

    /// <summary>
    /// Calls into <paramref name="shard"/>'s engine from outside the host's loops (a control session's notice),
    /// under the shard's lock, with the host's clock and an output of its own; then, as after a packet, its
    /// events are drained, its timer is moved if the deadline did, and the output is sent. Callers on
    /// several threads take turns (control notices are rare; packets never come this way).
    /// </summary>
    public void Invoke(PacketShard shard, Action<long, IPacketOutput> call)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_invokeLock)
        {
            if (!_invokeOutputs.TryGetValue(shard, out var output)) _invokeOutputs[shard] = output = NewOutput(shard);
            lock (shard.Gate)
            {
                call(_options.Clock(), output);
                AfterCall(shard);
            }
            output.Flush();
        }
    }

    // ---- the manual driver ----

    /// <summary>
    /// The driver for a simulated network with a virtual clock, on the calling thread: per shard, everything
    /// queued on its in-memory binds and devices, then its timer as long as it is due at <paramref name="nowMs"/>
    /// (at most <see cref="MaxTimerCallsPerPump"/> times), then its events. Returns how much was processed:
    /// 0 when the host is idle at this time. Not with <see cref="Start"/>.
    /// </summary>
    public int Pump(long nowMs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_started) throw new InvalidOperationException("the threaded driver is running");
        var batch = _pumpBatch ??= new UdpBatch(_options.BatchSize, _options.SlotSize);
        int work = 0;
        foreach (var shard in _shards)
        {
            if (!_pumpOutputs.TryGetValue(shard, out var output)) _pumpOutputs[shard] = output = NewOutput(shard);
            for (int i = 0; i < shard.Binds.Length; i++)
            {
                if (!shard.ReadBinds[i]) continue;
                int n;
                while ((n = shard.Binds[i]!.Poll(batch)) > 0)
                {
                    OnDatagrams(shard, new PortHandle(i), batch, n, nowMs, output);
                    work += n;
                }
            }
            for (int i = 0; i < shard.DeviceCount; i++)
            {
                if (shard.Device(i) is not { } device || !shard.ReadsDevice(i)) continue;
                int n;
                while ((n = TunBatchReader.Read(device, batch, wait: false)) > 0)
                {
                    OnDevicePackets(shard, new DeviceHandle(i), batch, nowMs, output);
                    work += n;
                }
            }
            for (int fired = 0; fired < MaxTimerCallsPerPump && Fire(shard, nowMs, output) == 0; fired++) work++;
            work += shard.Events?.Dispatch() ?? 0;
        }
        return work;
    }

    /// <summary>A bound on timer calls per shard per <see cref="Pump"/>, against an engine whose deadline never moves past now.</summary>
    public const int MaxTimerCallsPerPump = 64;

    /// <summary>The earliest deadline of any shard: where a virtual clock jumps when nothing is queued.</summary>
    public long NextDeadlineMs
    {
        get
        {
            long next = long.MaxValue;
            foreach (var shard in _shards)
            {
                lock (shard.Gate) next = Math.Min(next, shard.Engine.NextDeadlineMs);
            }
            return next;
        }
    }

    // ---- the dispatch both drivers share ----

    private HostOutput NewOutput(PacketShard shard) => new(shard, _options.BatchSize, _options.OutputSlotSize);

    private void OnDatagrams(PacketShard shard, PortHandle port, UdpBatch rx, int count, long now, HostOutput output)
    {
        lock (shard.Gate)
        {
            for (int i = 0; i < count; i++) shard.Engine.OnDatagram(now, port, rx.Source(i), rx.Received(i), output);
            AfterCall(shard);
        }
        output.Flush();
    }

    private void OnDevicePackets(PacketShard shard, DeviceHandle device, UdpBatch packets, long now, HostOutput output)
    {
        lock (shard.Gate)
        {
            for (int i = 0; i < packets.Count; i++) shard.Engine.OnDevicePacket(now, device, packets.Committed(i), output);
            AfterCall(shard);
        }
        output.Flush();
    }

    /// <summary>Calls the engine's timer if it is due at <paramref name="now"/> (then returns 0); else how long until it is.</summary>
    private long Fire(PacketShard shard, long now, HostOutput output)
    {
        long wait;
        lock (shard.Gate)
        {
            long deadline = shard.Engine.NextDeadlineMs;
            if (deadline <= now)
            {
                shard.Engine.OnTimer(now, output);
                AfterCall(shard);
                wait = 0;
            }
            else
            {
                shard.ScheduledDeadline = deadline;
                wait = deadline == long.MaxValue ? long.MaxValue : deadline - now;
            }
        }
        if (wait == 0) output.Flush();
        return wait;
    }

    /// <summary>Under the shard's lock after every engine call: its events out, and its timer woken if the deadline moved earlier.</summary>
    private void AfterCall(PacketShard shard)
    {
        if (shard.Events is { } events && events.Drain() && _started) _eventsWake.Set();
        long deadline = shard.Engine.NextDeadlineMs;
        if (deadline < shard.ScheduledDeadline)
        {
            shard.ScheduledDeadline = deadline;
            if (_started) shard.TimerWake.Set();
        }
    }

    // ---- shutdown ----

    /// <summary>Stops every loop, waits for the threads (each returns within its receive timeout), then closes every bind and device.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stopping = true;
        foreach (var shard in _shards) shard.TimerWake.Set();
        _eventsWake.Set();
        Thread[] threads;
        lock (_threads) threads = [.. _threads];
        foreach (var t in threads) t.Join(TimeSpan.FromSeconds(2));
        var closed = new HashSet<IDisposable>(ReferenceEqualityComparer.Instance);
        lock (_owned)
        {
            foreach (var resource in _owned) if (closed.Add(resource)) resource.Dispose();
        }
        foreach (var shard in _shards)
        {
            foreach (var bind in shard.Binds) if (bind is not null && closed.Add(bind)) bind.Dispose();
            for (int i = 0; i < shard.DeviceCount; i++) if (shard.Device(i) is { } device && closed.Add(device)) device.Dispose();
            shard.TimerWake.Dispose();
        }
        foreach (var output in _pumpOutputs.Values) output.Dispose();
        lock (_invokeLock)
            foreach (var output in _invokeOutputs.Values) output.Dispose();
        _pumpBatch?.Dispose();
        _eventsWake.Dispose();
    }
}
