using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.Relay;

namespace Teredo.Hosting.Relay;

/// <summary>
/// Runs <see cref="TeredoRelayEngine"/> between a TUN interface that owns the Teredo prefix and one UDP
/// socket. Two packet threads — TUN→UDP and UDP→TUN, one per core on a two-core host — share the engine
/// under a lock held only while the engine decides (well under a microsecond per packet); every system
/// call happens outside it, batched where Linux allows (recvmmsg, sendmmsg).
/// </summary>
public sealed class RelayDaemon(RelayHostSettings settings, ILogger<RelayDaemon> log) : IHostedService, IDisposable
{
    private const int BatchSize = 64;
    private const int SlotSize = 2048;

    private readonly TeredoRelayEngine _engine = new(settings.Engine);
    private readonly object _lock = new();
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly List<Thread> _threads = [];
    private ITunDevice? _tun;
    private UdpChannel? _udp;
    private StatusEndpoints? _endpoints;
    private volatile bool _stopping;
    private long _sendErrors;

    public TeredoRelayEngine Engine => _engine;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _udp = UdpChannel.Bind(new Ipv4Endpoint(settings.BindAddress, settings.BindPort), reusePort: false);
        var tun = LinuxTun.Open(settings.InterfaceName);
        _tun = tun;
        var ip = TunConfigurator.For(tun);
        ip.BringUp(tun.Name, settings.Mtu);
        // The prefix route sends every Teredo destination into the tunnel; for a host-specific relay
        // that is all it adds, the host's native route stays in charge of everything else.
        ip.AddRoute(tun.Name, settings.Engine.ServicePrefix, 32);
        UdpBatch.SetReceiveTimeout(_udp.Socket, TimeSpan.FromMilliseconds(250));

        Start("teredo-relay-tun", TunLoop);
        Start("teredo-relay-udp", UdpLoop);
        Start("teredo-relay-timer", TimerLoop);
        _endpoints = StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "relay", StatusJson, log);
        log.LogInformation("Teredo {Kind} on {Interface} (MTU {Mtu}), UDP {Local}, route {Prefix}/32, ICMPv6 errors from {Own}, peer list {Capacity} entries, control socket {Control}",
            settings.HostSpecific ? "host-specific relay" : "relay", tun.Name, settings.Mtu, _udp.Socket.LocalEndPoint,
            settings.Engine.ServicePrefix, settings.Engine.OwnAddress?.ToString() ?? "(none: not sent)", settings.Engine.PeerCapacity,
            settings.ControlSocket);
        return Task.CompletedTask;
    }

    private void Start(string name, ThreadStart body)
    {
        var thread = new Thread(body) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private BatchSink NewSink()
    {
        var sink = new BatchSink(BatchSize, SlotSize, SendUdp, WriteTun);
        sink.Udp.Segmentation = true;
        return sink;
    }

    private void SendUdp(UdpBatch batch) => Interlocked.Add(ref _sendErrors, batch.SendReportingLoss(_udp!.Socket));

    private void WriteTun(ReadOnlySpan<byte> packet)
    {
        if (_tun is null || !_tun.TryWrite(packet)) Interlocked.Increment(ref _sendErrors);
    }

    /// <summary>IPv6 packets for Teredo peers, a batch per wake-up, decided under the lock, sent with one sendmmsg.</summary>
    private void TunLoop()
    {
        using var sink = NewSink();
        using var packets = new UdpBatch(BatchSize, SlotSize);
        TunPacketHandler engine = (now, packet, output) => _engine.OnDevicePacket(now, TeredoRelayEngine.TunDevice, packet, output);
        while (!_stopping) TunBatchReader.ReadAndProcess(_tun!, packets, _lock, engine, sink);
    }

    private void UdpLoop()
    {
        using var rx = new UdpBatch(BatchSize, SlotSize);
        using var sink = NewSink();
        UdpDatagramHandler engine = (now, source, datagram, output) => _engine.OnDatagram(now, TeredoRelayEngine.UdpPort, source, datagram, output);
        while (!_stopping && UdpBatchReader.ReceiveAndProcess(_udp!.Socket, rx, _lock, engine, sink)) { }
    }

    private void TimerLoop()
    {
        using var sink = NewSink();
        while (!_stopping)
        {
            Thread.Sleep(200);
            lock (_lock) _engine.OnTimer(Environment.TickCount64, sink);
            sink.Flush();
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        long now = Environment.TickCount64;
        j.WriteString("role", settings.HostSpecific ? "host-specific relay" : "relay");
        j.WriteString("state", _stopping ? "stopping" : "running");
        j.WriteString("interface", _tun?.Name);
        j.WriteNumber("mtu", settings.Mtu);
        j.WriteString("udp", _udp?.Socket.LocalEndPoint?.ToString());
        j.WriteString("prefix", $"{settings.Engine.ServicePrefix}/32");
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        lock (_lock)
        {
            var peers = _engine.Peers;
            j.WriteNumber("peerCount", peers.Count);
            j.WriteNumber("peerCapacity", peers.Capacity);
            j.WriteNumber("queuedBytes", peers.QueuedBytes);
            j.WriteNumber("evictions", peers.Evictions);
            j.WriteStartArray("peers");
            int shown = 0;
            foreach (var p in peers.NewestFirst())
            {
                if (shown++ == 50) break;
                j.WriteStartObject();
                j.WriteString("address", p.Address.ToString());
                j.WriteString("mapped", p.Mapped.ToString());
                j.WriteBoolean("trusted", p.Trusted);
                if (p.LastReceiveMs != long.MinValue) j.WriteNumber("lastReceiveSecondsAgo", (now - p.LastReceiveMs) / 1000.0);
                j.WriteNumber("queued", p.QueuedPackets);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            Control.StatusJson.WriteCounters<RelayCounter>(j, c => _engine.Counters[c], ("sendErrors", Interlocked.Read(ref _sendErrors)));
        }
    });

    public Task StopAsync(CancellationToken cancellationToken)
    {
        log.LogInformation("stopping: {Peers} peers, {ToTun} packets to IPv6, {Trusted} to trusted peers",
            _engine.Peers.Count, _engine.Counters[RelayCounter.ForwardedToTun], _engine.Counters[RelayCounter.SentToTrustedPeer]);
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
        _tun?.Dispose();
    }
}
