using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Tun;
using Teredo.Net;
using Teredo.Relay;

namespace Teredo.Hosting.Relay;

/// <summary>
/// Runs <see cref="TeredoRelayEngine"/> on the <see cref="PacketHost"/> between a TUN interface that owns
/// the Teredo prefix and one UDP socket: two packet loops (TUN→UDP and UDP→TUN, one per core on a two-core
/// host) share the engine under the shard's lock, held only while it decides; system calls happen outside
/// it, batched (recvmmsg, sendmmsg with UDP GSO).
/// </summary>
public sealed class RelayDaemon(RelayHostSettings settings, ILogger<RelayDaemon> log) : PacketDaemon(new PacketHostOptions { ThreadPrefix = "teredo-relay" })
{
    private readonly TeredoRelayEngine _engine = new(settings.Engine);
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private PacketShard? _shard;
    private ITunDevice? _tun;
    private UdpBind? _udp;

    public TeredoRelayEngine Engine => _engine;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _udp = Host.Own(UdpBind.Open(new Ipv4Endpoint(settings.BindAddress, settings.BindPort), new UdpBindOptions { Segmentation = true }));
        _shard = Host.AddShard("relay", _engine, [_udp], devices: 1);
        var tun = Host.Own(LinuxTun.Open(settings.InterfaceName));
        _tun = tun;
        Host.Attach(_shard, TeredoRelayEngine.TunDevice, tun);
        var ip = TunConfigurator.For(tun);
        ip.BringUp(tun.Name, settings.Mtu);
        // The prefix route sends every Teredo destination into the tunnel; for a host-specific relay
        // that is all it adds, the host's native route stays in charge of everything else.
        ip.AddRoute(tun.Name, settings.Engine.ServicePrefix, 32);

        Host.Start();
        Host.Own(StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "relay", StatusJson, log));
        log.LogInformation("Teredo {Kind} on {Interface} (MTU {Mtu}), UDP {Local}, route {Prefix}/32, ICMPv6 errors from {Own}, peer list {Capacity} entries, control socket {Control}",
            settings.HostSpecific ? "host-specific relay" : "relay", tun.Name, settings.Mtu, _udp.Socket.LocalEndPoint,
            settings.Engine.ServicePrefix, settings.Engine.OwnAddress?.ToString() ?? "(none: not sent)", settings.Engine.PeerCapacity,
            settings.ControlSocket);
        return Task.CompletedTask;
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        long now = Environment.TickCount64;
        j.WriteString("role", settings.HostSpecific ? "host-specific relay" : "relay");
        j.WriteString("state", Host.Stopping ? "stopping" : "running");
        j.WriteString("interface", _tun?.Name);
        j.WriteNumber("mtu", settings.Mtu);
        j.WriteString("udp", _udp?.Socket.LocalEndPoint?.ToString());
        j.WriteString("prefix", $"{settings.Engine.ServicePrefix}/32");
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        lock (_shard!.Gate)
        {
            PeerListJson.Write(j, _engine.Peers, (j, p) =>
            {
                j.WriteString("mapped", p.Mapped.ToString());
                j.WriteBoolean("trusted", p.Trusted);
                if (p.LastReceiveMs != long.MinValue) j.WriteNumber("lastReceiveSecondsAgo", (now - p.LastReceiveMs) / 1000.0);
                j.WriteNumber("queued", p.QueuedPackets);
            });
            Control.StatusJson.WriteCounters<RelayCounter>(j, c => _engine.Counters[c], ("sendErrors", Host.SendErrors));
        }
    });

    protected override void OnStopping()
    {
        log.LogInformation("stopping: {Peers} peers, {ToTun} packets to IPv6, {Trusted} to trusted peers",
            _engine.Peers.Count, _engine.Counters[RelayCounter.ForwardedToTun], _engine.Counters[RelayCounter.SentToTrustedPeer]);
    }
}
