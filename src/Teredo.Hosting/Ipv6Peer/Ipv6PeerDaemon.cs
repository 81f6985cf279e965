using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;

namespace Teredo.Hosting.Ipv6Peer;

/// <summary>
/// Runs <see cref="Ipv6PeerEngine"/> on the <see cref="PacketHost"/> over one TUN that carries two routes,
/// the NAT64 prefix and the pool: the engine rewrites each packet and writes it back to the same TUN, and
/// the kernel (forwarding on) routes it on — toward 2001::/32 and any relay, or toward the client. The host's
/// timer fires exactly at the engine's deadline (expiry, coordinator health windows, probes). With the
/// embedded relay the host's engine is the <see cref="EmbeddedRelayRouter"/> over both engines, with the
/// relay's UDP socket as its port.
/// </summary>
public sealed class Ipv6PeerDaemon : PacketDaemon
{
    private readonly Ipv6PeerHostSettings _settings;
    private readonly ILogger<Ipv6PeerDaemon> _log;
    private readonly Ipv6PeerEngine _engine;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly bool _ownsSetup;
    private readonly TeredoRelayEngine? _relay;
    private readonly EmbeddedRelayRouter? _router;
    private PacketShard? _shard;
    private ITunDevice? _tun;
    private UdpBind? _udp;

    public Ipv6PeerDaemon(Ipv6PeerHostSettings settings, ILogger<Ipv6PeerDaemon> log)
        : base(new PacketHostOptions { ThreadPrefix = "teredo-v6peer", SlotSize = 2048 })
    {
        _settings = settings;
        _log = log;
        _engine = new Ipv6PeerEngine(settings.Engine);
        // Its ICMPv6 errors (a peer that never answered) come from the v6peer's own address and are rewritten for C.
        if (settings.Relay == RelayMode.Embedded)
        {
            _relay = new TeredoRelayEngine(new RelayOptions { OwnAddress = settings.Engine.OwnAddress });
            _router = new EmbeddedRelayRouter(_engine, _relay);
        }
        _ownsSetup = true;
    }

    /// <summary>On a TUN that already exists (the in-memory one in tests): no sysctl check, no routes.</summary>
    public Ipv6PeerDaemon(Ipv6PeerHostSettings settings, ILogger<Ipv6PeerDaemon> log, ITunDevice tun) : this(settings, log)
    {
        _tun = tun;
        _ownsSetup = false;
    }

    public Ipv6PeerEngine Engine => _engine;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var options = _settings.Engine;
        if (_ownsSetup)
        {
            Ipv6Forwarding.Require();
            var tun = Host.Own(LinuxTun.Open(_settings.InterfaceName));
            _tun = tun;
            var ip = TunConfigurator.For(tun);
            ip.BringUp(tun.Name, _settings.Mtu);
            ip.AddRoute(tun.Name, options.Prefix, options.PrefixLength);
            ip.AddRoute(tun.Name, options.Pool, options.PoolLength);
        }
        if (_router is not null)
        {
            _udp = Host.Own(UdpBind.Open(new Ipv4Endpoint(Ipv4Address.Any, 0)));
            _shard = Host.AddShard("v6peer", _router, [_udp], devices: 1);
        }
        else _shard = Host.AddShard("v6peer", _engine, [], devices: 1);
        // The host closes the TUN at shutdown, a handed-in one (tests) too: the daemon's life is the TUN's use.
        Host.Attach(_shard, Ipv6PeerEngine.TunDevice, _tun!);
        Host.Start();
        Host.Own(StatusEndpoints.Start(_settings.ControlSocket, _settings.Metrics, "v6peer", StatusJson, _log, new Dictionary<string, string> { ["coordinators"] = "address" }));
        _log.LogInformation("IPv6 peer on {Interface} (MTU {Mtu}): NAT64 prefix {Prefix}/{PrefixLength}, pool {Pool}/{PoolLength} ({Capacity} clients), coordinators {Coordinators}, serving {Clients}, probes {Probe}, control socket {Control}",
            _tun!.Name, _settings.Mtu, options.Prefix, options.PrefixLength, options.Pool, options.PoolLength, _engine.Pool.Capacity,
            string.Join(", ", options.Coordinators), string.Join(", ", options.ClientNetworks.Select(n => $"{n.Network}/{n.Length}")),
            options.ProbeTarget?.ToString() ?? "off", _settings.ControlSocket);
        if (_udp is not null) _log.LogInformation("embedded relay on UDP {Local}", _udp.Socket.LocalEndPoint);
        return Task.CompletedTask;
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        long now = Environment.TickCount64;
        var options = _settings.Engine;
        j.WriteString("role", "v6peer");
        j.WriteString("state", Host.Stopping ? "stopping" : "running");
        j.WriteString("interface", _tun?.Name);
        j.WriteNumber("mtu", _settings.Mtu);
        j.WriteString("prefix", $"{options.Prefix}/{options.PrefixLength}");
        j.WriteString("pool", $"{options.Pool}/{options.PoolLength}");
        j.WriteString("ownAddress", options.OwnAddress.ToString());
        j.WriteString("relay", _settings.Relay.ToString().ToLowerInvariant());
        if (_udp is not null) j.WriteString("relayUdp", _udp.Socket.LocalEndPoint?.ToString());
        j.WriteString("probeTarget", options.ProbeTarget?.ToString());
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        lock (_shard!.Gate)
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
            Control.StatusJson.WriteCounters<Ipv6PeerCounter>(j, c => _engine.Counters[c], ("tunWriteErrors", Host.SendErrors),
                ("relayOutputConfined", _router?.RelayConfined ?? 0), ("routingLoopDrops", _router?.LoopDrops ?? 0));
        }
    });

    protected override void OnStopping()
    {
        _log.LogInformation("stopping: {Mappings} mappings, {Out} packets to coordinators, {In} to clients",
            _engine.Pool.Count, _engine.Counters[Ipv6PeerCounter.ForwardedToCoordinator], _engine.Counters[Ipv6PeerCounter.ForwardedToClient]);
    }
}
