using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;

namespace Teredo.Hosting.Ipv6Peer;

/// <summary>
/// Runs <see cref="Ipv6PeerEngine"/> on one TUN that carries two routes, the NAT64 prefix and the pool: a
/// packet thread reads a batch, lets the engine rewrite it and writes the results back to the same TUN, and
/// the kernel (forwarding on) routes them on — toward 2001::/32 and any relay, or toward the client. A
/// timer thread drives expiry, health and probes. Both share the engine under a lock held only while the
/// engine decides; the TUN writes happen outside it.
/// </summary>
public sealed class Ipv6PeerDaemon : IHostedService, IDisposable
{
    private const int BatchSize = 64;
    private const int SlotSize = 2048;
    private const int TimerIntervalMs = 200;

    private readonly Ipv6PeerHostSettings _settings;
    private readonly ILogger<Ipv6PeerDaemon> _log;
    private readonly Ipv6PeerEngine _engine;
    private readonly object _lock = new();
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly List<Thread> _threads = [];
    private readonly bool _ownsSetup;
    private readonly TeredoRelayEngine? _relay;
    private readonly List<EmbeddedRelayRouter> _routers = [];
    private ITunDevice? _tun;
    private UdpChannel? _udp;
    private StatusEndpoints? _endpoints;
    private volatile bool _stopping;
    private long _writeErrors;

    public Ipv6PeerDaemon(Ipv6PeerHostSettings settings, ILogger<Ipv6PeerDaemon> log)
    {
        _settings = settings;
        _log = log;
        _engine = new Ipv6PeerEngine(settings.Engine);
        // Its ICMPv6 errors (a peer that never answered) come from the v6peer's own address and are rewritten for C.
        if (settings.Relay == RelayMode.Embedded) _relay = new TeredoRelayEngine(new RelayOptions { OwnAddress = settings.Engine.OwnAddress });
        _ownsSetup = true;
    }

    /// <summary>On a TUN that already exists (the in-memory one in tests): no sysctl check, no routes.</summary>
    public Ipv6PeerDaemon(Ipv6PeerHostSettings settings, ILogger<Ipv6PeerDaemon> log, ITunDevice tun) : this(settings, log)
    {
        _tun = tun;
        _ownsSetup = false;
    }

    public Ipv6PeerEngine Engine => _engine;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = _settings.Engine;
        if (_ownsSetup)
        {
            Ipv6Forwarding.Require();
            var tun = LinuxTun.Open(_settings.InterfaceName);
            _tun = tun;
            var ip = TunConfigurator.For(tun);
            ip.BringUp(tun.Name, _settings.Mtu);
            ip.AddRoute(tun.Name, options.Prefix, options.PrefixLength);
            ip.AddRoute(tun.Name, options.Pool, options.PoolLength);
        }
        if (_relay is not null)
        {
            _udp = UdpChannel.Bind(new Ipv4Endpoint(Ipv4Address.Any, 0), reusePort: false);
            UdpBatch.SetReceiveTimeout(_udp.Socket, TimeSpan.FromMilliseconds(250));
            Start("teredo-v6peer-udp", UdpLoop);
        }
        Start("teredo-v6peer-tun", PacketLoop);
        Start("teredo-v6peer-timer", TimerLoop);
        _endpoints = StatusEndpoints.Start(_settings.ControlSocket, _settings.Metrics, "v6peer", StatusJson, _log, new Dictionary<string, string> { ["coordinators"] = "address" });
        _log.LogInformation("IPv6 peer on {Interface} (MTU {Mtu}): NAT64 prefix {Prefix}/{PrefixLength}, pool {Pool}/{PoolLength} ({Capacity} clients), coordinators {Coordinators}, serving {Clients}, probes {Probe}, control socket {Control}",
            _tun!.Name, _settings.Mtu, options.Prefix, options.PrefixLength, options.Pool, options.PoolLength, _engine.Pool.Capacity,
            string.Join(", ", options.Coordinators), string.Join(", ", options.ClientNetworks.Select(n => $"{n.Network}/{n.Length}")),
            options.ProbeTarget?.ToString() ?? "off", _settings.ControlSocket);
        if (_udp is not null) _log.LogInformation("embedded relay on UDP {Local}", _udp.Socket.LocalEndPoint);
        return Task.CompletedTask;
    }

    private void Start(string name, ThreadStart body)
    {
        var thread = new Thread(body) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private BatchSink NewSink() => new(BatchSize, SlotSize, SendUdp, WriteTun);

    private void SendUdp(UdpBatch batch)
    {
        if (_udp is null) throw new InvalidOperationException("only the embedded relay sends over UDP");
        Interlocked.Add(ref _writeErrors, batch.SendReportingLoss(_udp.Socket));
    }

    /// <summary>With the embedded relay, each thread's packets go through a router of its own (it holds scratch buffers).</summary>
    private EmbeddedRelayRouter? NewRouter(BatchSink sink)
    {
        if (_relay is null) return null;
        var router = new EmbeddedRelayRouter(_engine, _relay, sink);
        lock (_lock) _routers.Add(router);
        return router;
    }

    private void WriteTun(ReadOnlySpan<byte> packet)
    {
        if (_tun is null || !_tun.TryWrite(packet)) Interlocked.Increment(ref _writeErrors);
    }

    private void PacketLoop()
    {
        using var sink = NewSink();
        using var packets = new UdpBatch(BatchSize, SlotSize);
        TunPacketHandler engine = NewRouter(sink) is { } router ? router.FromTun : _engine.FromTun;
        while (!_stopping) TunBatchReader.ReadAndProcess(_tun!, packets, _lock, engine, sink);
    }

    private void UdpLoop()
    {
        using var rx = new UdpBatch(BatchSize, SlotSize);
        using var sink = NewSink();
        UdpDatagramHandler router = NewRouter(sink)!.FromUdp;
        while (!_stopping && UdpBatchReader.ReceiveAndProcess(_udp!.Socket, rx, _lock, router, sink)) { }
    }

    private void TimerLoop()
    {
        using var sink = NewSink();
        var router = NewRouter(sink);
        while (!_stopping)
        {
            Thread.Sleep(TimerIntervalMs);
            lock (_lock)
            {
                if (router is not null) router.OnTimer(Environment.TickCount64);
                else _engine.OnTimer(Environment.TickCount64, sink);
            }
            sink.Flush();
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        long now = Environment.TickCount64;
        var options = _settings.Engine;
        j.WriteString("role", "v6peer");
        j.WriteString("state", _stopping ? "stopping" : "running");
        j.WriteString("interface", _tun?.Name);
        j.WriteNumber("mtu", _settings.Mtu);
        j.WriteString("prefix", $"{options.Prefix}/{options.PrefixLength}");
        j.WriteString("pool", $"{options.Pool}/{options.PoolLength}");
        j.WriteString("ownAddress", options.OwnAddress.ToString());
        j.WriteString("relay", _settings.Relay.ToString().ToLowerInvariant());
        if (_udp is not null) j.WriteString("relayUdp", _udp.Socket.LocalEndPoint?.ToString());
        j.WriteString("probeTarget", options.ProbeTarget?.ToString());
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        lock (_lock)
        {
            j.WriteStartArray("coordinators");
            foreach (var c in _engine.Ring.Coordinators)
            {
                j.WriteStartObject();
                j.WriteString("address", c.Address.ToString());
                j.WriteString("prefix", $"{Addressing.CoordinatorAddress.Prefix(c.Address)}/64");
                j.WriteString("health", c.Healthy ? "healthy" : "down");
                if (c.AwaitingSinceMs != long.MinValue) j.WriteNumber("awaitingAnswerSeconds", (now - c.AwaitingSinceMs) / 1000.0);
                if (c.LastAnswerMs != long.MinValue) j.WriteNumber("lastAnswerSecondsAgo", (now - c.LastAnswerMs) / 1000.0);
                if (c.DownSinceMs != long.MinValue) j.WriteNumber("downSecondsAgo", (now - c.DownSinceMs) / 1000.0);
                j.WriteNumber("packetsSent", c.PacketsSent);
                j.WriteNumber("packetsAnswered", c.PacketsAnswered);
                j.WriteNumber("timesDown", c.TimesDown);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteNumber("mappingCount", _engine.Pool.Count);
            j.WriteNumber("mappingCapacity", _engine.Pool.Capacity);
            j.WriteNumber("destinationCount", _engine.Ring.DestinationCount);
            j.WriteStartArray("mappings");
            int shown = 0;
            foreach (var m in _engine.Pool.Snapshot())
            {
                if (shown++ == 50) break;
                j.WriteStartObject();
                j.WriteString("client", m.Client.ToString());
                j.WriteString("pooled", m.Pooled.ToString());
                j.WriteNumber("idleSeconds", (now - m.LastUseMs) / 1000.0);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            if (_relay is not null)
            {
                j.WriteNumber("relayPeerCount", _relay.Peers.Count);
                j.WriteNumber("relayBubblesSent", _relay.Counters[RelayCounter.IndirectBubblesSent]);
                j.WriteNumber("relayPacketsFromPeers", _relay.Counters[RelayCounter.ForwardedToTun]);
            }
            long confined = 0, loops = 0;
            foreach (var r in _routers)
            {
                confined += r.RelayConfined;
                loops += r.LoopDrops;
            }
            Control.StatusJson.WriteCounters<Ipv6PeerCounter>(j, c => _engine.Counters[c], ("tunWriteErrors", Interlocked.Read(ref _writeErrors)),
                ("relayOutputConfined", confined), ("routingLoopDrops", loops));
        }
    });

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _log.LogInformation("stopping: {Mappings} mappings, {Out} packets to coordinators, {In} to clients",
            _engine.Pool.Count, _engine.Counters[Ipv6PeerCounter.ForwardedToCoordinator], _engine.Counters[Ipv6PeerCounter.ForwardedToClient]);
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _stopping = true;
        _endpoints?.Dispose();
        _endpoints = null;
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(2));
        _threads.Clear();
        _udp?.Dispose();
        if (_ownsSetup) _tun?.Dispose();
    }
}
