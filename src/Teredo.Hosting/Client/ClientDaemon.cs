using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Client;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Hosting.Addresses;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>
/// Runs <see cref="TeredoClientEngine"/> between a TUN interface and the client's UDP socket(s). Packet
/// threads (TUN→UDP, UDP→TUN, and the optional secondary and discovery sockets) and a timer thread share
/// the engine under a lock held only while it decides; system calls happen outside it. The engine's
/// events (address acquired, changed, lost...) go to one more thread that configures the interface with
/// ip(8) and logs, in order, so that a slow ip never holds up packets.
/// </summary>
public sealed class ClientDaemon(ClientHostSettings settings, ILogger<ClientDaemon> log, PrivilegeDrop? drop = null) : IHostedService, IDisposable
{
    private const int BatchSize = 64;
    private const int SlotSize = 2048;
    private const int TimerIntervalMs = 100;

    private readonly object _lock = new();
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly List<Thread> _threads = [];
    private readonly TaskCompletionSource _dropped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly BlockingCollection<ClientEvent> _events = new(new ConcurrentQueue<ClientEvent>(), 1024);
    private TeredoClientEngine? _engine;
    private ITunDevice? _tun;
    private ClientInterface? _interface;
    private UdpChannel? _udp;
    private Socket? _secondary;
    private Socket? _probe;
    private Socket? _discovery;
    private StatusEndpoints? _endpoints;
    private Ipv4Endpoint? _local;
    private volatile bool _stopping;
    private long _sendErrors;
    private long _droppedEvents;
    private long _startedTicks;

    public TeredoClientEngine? Engine => _engine;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // RFC 4380 §5.5: a host that already has IPv6 must not be a Teredo client.
        if (!settings.ForceWithIpv6 && NativeIpv6.First() is { } native)
            throw new InvalidOperationException(
                $"this host already has IPv6 ({native.Address} on {native.Interface}), so it must not run as a Teredo client (RFC 4380 §5.5 sunset); ForceWithIpv6 yes (--force) overrides");

        try
        {
            Open();
        }
        catch
        {
            Dispose();
            throw;
        }
        return Task.CompletedTask;
    }

    private void Open()
    {
        var options = settings.Engine;
        _udp = UdpChannel.Bind(new Ipv4Endpoint(settings.BindAddress, settings.BindPort), reusePort: false, bufferBytes: 1 << 20);
        UdpBatch.SetReceiveTimeout(_udp.Socket, TimeSpan.FromMilliseconds(250));
        _local = LocalEndpoint(options.Server);
        if (options.LocalDiscovery)
        {
            var network = LocalNetwork(_local.Value.Address)
                ?? throw new InvalidOperationException($"local discovery: no interface holds {_local.Value.Address}, so the local network is unknown");
            options = options with { LocalNetwork = network };
            _discovery = OpenDiscoverySocket(_local.Value.Address);
        }
        // The cone probe of qualification leaves from its own socket (see the engine's qualification).
        _probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 250 };
        _probe.Bind(new IPEndPoint(settings.BindAddress.ToIPAddress(), 0));
        if (options.RefreshDetermination)
        {
            _secondary = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 250 };
            _secondary.Bind(new IPEndPoint(settings.BindAddress.ToIPAddress(), 0));
        }

        // Qualification starts first: its round trip overlaps with creating and configuring the interface.
        _engine = new TeredoClientEngine(options);
        Start("teredo-client-udp", UdpLoop);
        Start("teredo-client-probe", () => SideLoop(_probe, ClientPort.Probe));
        if (_secondary is not null) Start("teredo-client-secondary", () => SideLoop(_secondary, ClientPort.Secondary));
        if (_discovery is not null) Start("teredo-client-discovery", () => SideLoop(_discovery, ClientPort.Discovery));
        _startedTicks = Environment.TickCount64;
        using (var sink = NewSink())
        {
            lock (_lock)
            {
                _engine.Start(_startedTicks, sink);
                TakeEvents();
            }
            sink.Flush();
        }
        Start("teredo-client-timer", TimerLoop);
        // Before the interface gets its address: whoever sees the address can ask for the status.
        _endpoints = StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "client", StatusJson, log);

        var tun = LinuxTun.Open(settings.InterfaceName);
        _tun = tun;
        _interface = new ClientInterface(tun.Name, Teredo.Wire.Ipv6Packet.MinimumMtu, settings.DefaultRoute, settings.RouteMetric);
        _interface.Prepare();
        // Events wait in their queue until the interface exists; the first address brings it up.
        Start("teredo-client-events", EventLoop);
        _dropped.Task.GetAwaiter().GetResult();
        Start("teredo-client-tun", TunLoop);
        log.LogInformation("Teredo client on {Interface} (MTU 1280), UDP {Local}, server {Server} (secondary {Secondary}){Secure}, {Routes}, control socket {Control}",
            tun.Name, _local, options.Server, options.SecondaryServerAddress, options.Secret is null ? "" : ", secure qualification",
            settings.DefaultRoute ? "default route" : "route 2001::/32 only", settings.ControlSocket);
    }

    private void Start(string name, ThreadStart body)
    {
        var thread = new Thread(body) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private ClientSink NewSink() => new(BatchSize, SlotSize, SendUdp, WriteTun, SendOther);

    private void SendUdp(UdpBatch batch) => Interlocked.Add(ref _sendErrors, batch.SendReportingLoss(_udp!.Socket));

    private void WriteTun(ReadOnlySpan<byte> packet)
    {
        if (_tun is null || !_tun.TryWrite(packet)) Interlocked.Increment(ref _sendErrors);
    }

    private void SendOther(PortHandle port, ReadOnlySpan<byte> datagram, Ipv4Endpoint to)
    {
        var socket = port == ClientPort.Probe ? _probe : _secondary;
        try { socket?.SendTo(datagram, SocketFlags.None, new IPEndPoint(to.Address.ToIPAddress(), to.Port)); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { Interlocked.Increment(ref _sendErrors); }
    }

    /// <summary>Moves the engine's events to the event thread; call under the lock.</summary>
    private void TakeEvents()
    {
        while (_engine!.TryTakeEvent(out var e))
        {
            try
            {
                if (!_events.TryAdd(e)) Interlocked.Increment(ref _droppedEvents);
            }
            catch (InvalidOperationException)
            {
                return; // stopping: nobody applies events any more
            }
        }
    }

    private void UdpLoop()
    {
        using var rx = new UdpBatch(BatchSize, SlotSize);
        using var sink = NewSink();
        while (!_stopping)
        {
            int n;
            try { n = rx.Receive(_udp!.Socket); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { if (_stopping) return; continue; }
            if (n == 0) continue;
            long now = Environment.TickCount64;
            lock (_lock)
            {
                for (int i = 0; i < n; i++) _engine!.OnDatagram(now, ClientPort.Service, rx.Source(i), rx.Received(i), sink);
                TakeEvents();
            }
            sink.Flush();
        }
    }

    private void TunLoop()
    {
        using var sink = NewSink();
        using var packets = new UdpBatch(BatchSize, SlotSize);
        while (!_stopping)
        {
            if (TunBatchReader.Read(_tun!, packets) == 0) continue;
            long now = Environment.TickCount64;
            lock (_lock)
            {
                for (int i = 0; i < packets.Count; i++) _engine!.OnDevicePacket(now, TeredoClientEngine.TunDevice, packets.Committed(i), sink);
                TakeEvents();
            }
            sink.Flush();
        }
    }

    /// <summary>The secondary and discovery sockets: little traffic, plain blocking receives.</summary>
    private void SideLoop(Socket socket, PortHandle port)
    {
        using var sink = NewSink();
        var buffer = new byte[SlotSize];
        var from = Ipv4SocketAddress.Create();
        while (!_stopping)
        {
            int n;
            try { n = socket.ReceiveFrom(buffer, SocketFlags.None, from); }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset) { continue; }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            long now = Environment.TickCount64;
            lock (_lock)
            {
                _engine!.OnDatagram(now, port, Ipv4SocketAddress.Read(from), buffer.AsSpan(0, n), sink);
                TakeEvents();
            }
            sink.Flush();
        }
    }

    private void TimerLoop()
    {
        using var sink = NewSink();
        while (!_stopping)
        {
            Thread.Sleep(TimerIntervalMs);
            lock (_lock)
            {
                _engine!.OnTimer(Environment.TickCount64, sink);
                TakeEvents();
            }
            sink.Flush();
        }
    }

    /// <summary>Applies the engine's events to the interface, in order, and logs them.</summary>
    private void EventLoop()
    {
        // --user: dropped here, as this thread runs ip(8) for every later address change (see PrivilegeDrop).
        try
        {
            drop?.Apply();
            _dropped.SetResult();
        }
        catch (InvalidOperationException e)
        {
            _dropped.SetException(e);
            return;
        }
        foreach (var e in _events.GetConsumingEnumerable())
        {
            try { Apply(e); }
            catch (Exception ex) when (ex is IpCommandException or InvalidOperationException or IOException)
            {
                log.LogError("could not apply {Event} to {Interface}: {Error}", e.Kind, settings.InterfaceName, ex.Message);
            }
        }
    }

    private void Apply(ClientEvent e)
    {
        switch (e.Kind)
        {
            case ClientEventKind.AddressAcquired:
                _interface!.Acquire(e.Address);
                log.LogInformation("qualified in {Ms} ms: {Address} (mapped {Mapped}, NAT type {Nat} so far); interface configured {Total} ms after start",
                    _engine!.QualifiedAtMs - _engine.StartedAtMs, e.Address, e.Address.Mapped, ClientStatus.Name(e.NatType),
                    Environment.TickCount64 - _startedTicks);
                break;
            case ClientEventKind.AddressChanged:
                _interface!.Change(e.Previous, e.Address);
                log.LogWarning("mapping changed ({OldMapped} -> {Mapped}): new address {Address}, {Old} withdrawn",
                    e.Previous.Mapped, e.Address.Mapped, e.Address, e.Previous);
                break;
            case ClientEventKind.AddressLost:
                _interface!.Lose(e.Previous);
                log.LogWarning("address {Old} withdrawn: {Why}", e.Previous,
                    e.State == ClientState.Qualified ? "the server stopped answering; qualifying again" : "the client is off line");
                break;
            case ClientEventKind.NatTypeDetermined:
                LogNatType(e.NatType);
                break;
            case ClientEventKind.StateChanged:
                if (e.State == ClientState.Offline)
                    log.LogWarning("off line: server {Server} did not answer (or refused this NAT); next attempt in {Seconds} s",
                        settings.Engine.Server, settings.Engine.OfflineRetryMs / 1000);
                else
                    log.LogInformation("state {State}", ClientStatus.Name(e.State));
                break;
            case ClientEventKind.KeyRenewalRequested:
                log.LogWarning("the server's confirmation byte is {Value}: this client's key should be renewed (RFC 4380 §5.2.2)", e.Value);
                break;
            case ClientEventKind.RefreshIntervalChanged:
                log.LogInformation("refresh interval determination: the mapping survives {Seconds} s, refresh interval raised", e.Value / 1000);
                break;
            case ClientEventKind.SecondaryPortDone:
                log.LogInformation("refresh interval determination concluded: refresh interval {Seconds} s; secondary port closed", e.Value / 1000);
                _secondary?.Dispose();
                break;
        }
    }

    private void LogNatType(NatType type)
    {
        switch (type)
        {
            case NatType.Symmetric when settings.Engine.StrictSymmetric:
                log.LogError("NAT type: symmetric. RFC 4380 says Teredo cannot work here and StrictSymmetric is set: not qualifying");
                break;
            case NatType.Symmetric:
                log.LogWarning("NAT type: symmetric (the two server addresses saw different mappings). Qualified anyway with the primary server's mapping: " +
                    "relays and clients that accept nonce-proven bubbles (Miredo's, ours) reach this client, strict RFC 4380 peers may not. StrictSymmetric yes refuses instead");
                break;
            case NatType.Unknown:
                log.LogWarning("NAT type: unknown (the secondary server address {Secondary} did not answer){Strict}",
                    settings.Engine.SecondaryServerAddress, settings.Engine.StrictSymmetric ? "; StrictSymmetric: not qualifying" : "");
                break;
            default:
                log.LogInformation("NAT type: {Type}", ClientStatus.Name(type));
                break;
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        lock (_lock)
        {
            ClientStatus.Write(j, _engine!, Environment.TickCount64, _tun?.Name, _local, settings.DefaultRoute,
                Interlocked.Read(ref _sendErrors), Interlocked.Read(ref _droppedEvents), (long)_uptime.Elapsed.TotalSeconds, _stopping);
        }
    });

    /// <summary>The address and port the service socket uses toward the server (its bound port, the route's source).</summary>
    private Ipv4Endpoint LocalEndpoint(Ipv4Address server)
    {
        var bound = (IPEndPoint)_udp!.Socket.LocalEndPoint!;
        var address = Ipv4Address.FromIPAddress(bound.Address);
        if (address == Ipv4Address.Any)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(new IPEndPoint(server.ToIPAddress(), Teredo.Addressing.TeredoAddress.Port));
            address = Ipv4Address.FromIPAddress(((IPEndPoint)probe.LocalEndPoint!).Address);
        }
        return new Ipv4Endpoint(address, (ushort)bound.Port);
    }

    /// <summary>The subnet of the interface holding <paramref name="address"/> (§5.2.8 accepts discovery bubbles only from it).</summary>
    private static (Ipv4Address, int)? LocalNetwork(Ipv4Address address)
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        foreach (var a in nic.GetIPProperties().UnicastAddresses)
        {
            if (a.Address.AddressFamily != AddressFamily.InterNetwork || Ipv4Address.FromIPAddress(a.Address) != address) continue;
            int length = a.PrefixLength;
            uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
            return (new Ipv4Address(address.Value & mask), length);
        }
        return null;
    }

    /// <summary>A socket bound to 224.0.0.253:3544, so that only multicast discovery bubbles reach it (§5.2.8), joined on the local interface.</summary>
    private Socket OpenDiscoverySocket(Ipv4Address local)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 250 };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(TeredoClientEngine.DiscoveryAddress.ToIPAddress(), Teredo.Addressing.TeredoAddress.Port));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
                new MulticastOption(TeredoClientEngine.DiscoveryAddress.ToIPAddress(), local.ToIPAddress()));
            // Discovery bubbles leave from the service port, on the local interface, with TTL 1.
            _udp!.Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, local.ToIPAddress().GetAddressBytes());
            _udp.Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_engine is { } e)
            log.LogInformation("stopping: state {State}, {Peers} peers, {Delivered} packets delivered, {Sent} sent to trusted peers",
                ClientStatus.Name(e.State), e.Peers.Count, e.Counters[ClientCounter.DeliveredFromTrustedPeer] + e.Counters[ClientCounter.DeliveredFromTeredoPeer]
                + e.Counters[ClientCounter.DeliveredUnverified] + e.Counters[ClientCounter.DeliveredFromServer], e.Counters[ClientCounter.SentToTrustedPeer]);
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping = true;
        _endpoints?.Dispose();
        _endpoints = null;
        _events.CompleteAdding();
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(2));
        _threads.Clear();
        _udp?.Dispose();
        _secondary?.Dispose();
        _probe?.Dispose();
        _discovery?.Dispose();
        _tun?.Dispose();
    }
}
