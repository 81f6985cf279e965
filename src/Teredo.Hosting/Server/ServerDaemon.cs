using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Packets;
using Teredo.Net;
using Teredo.Server;

namespace Teredo.Hosting.Server;

/// <summary>
/// Runs <see cref="TeredoServerEngine"/> on the <see cref="PacketHost"/>: for each of the two server
/// addresses, <see cref="ServerHostSettings.Threads"/> SO_REUSEPORT sockets, each read by its own shard
/// with its own engine (the server keeps no per-client state, so shards share nothing and never wait on
/// each other). Replies leave from the socket of the address the engine picked; ICMPv6 for native IPv6
/// leaves through the raw IPv6 device.
/// </summary>
public sealed class ServerDaemon(ServerHostSettings settings, ILogger<ServerDaemon> log) : PacketDaemon(new PacketHostOptions
{
    ThreadPrefix = "teredo-server",
    // The engine's answer needs room beyond the received datagram (origin indication, RA).
    OutputHeadroom = TeredoServerEngine.OutputHeadroom,
})
{
    private readonly List<TeredoServerEngine> _engines = [];
    private RawIpv6Device? _raw;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var engineOptions = settings.Engine;
        if (engineOptions.Ipv6Forwarding)
        {
            _raw = RawIpv6Device.TryOpen(out string? error);
            if (_raw is not null) Host.Own(_raw);
            if (_raw is null)
            {
                log.LogWarning("cannot open a raw IPv6 socket ({Error}); ICMPv6 toward native IPv6 is off", error);
                engineOptions = engineOptions with { Ipv6Forwarding = false };
            }
        }
        var primary = new Ipv4Endpoint(engineOptions.Primary, settings.Port);
        var secondary = new Ipv4Endpoint(engineOptions.SecondaryAddress, settings.Port);
        var shared = new UdpBindOptions { ReusePort = true };
        for (int i = 0; i < settings.Threads; i++)
        {
            UdpBind p, s;
            try
            {
                p = Host.Own(UdpBind.Open(primary, shared));
                s = Host.Own(UdpBind.Open(secondary, shared));
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException(
                    $"cannot bind UDP {primary} and {secondary}: {e.Message} (both addresses must be assigned to this host)", e);
            }
            // Two shards per pair of sockets, one reading each; both answer from either.
            AddShard($"p{i}", engineOptions, p, s, TeredoServerEngine.PrimaryPort);
            AddShard($"s{i}", engineOptions, p, s, TeredoServerEngine.SecondaryPort);
        }
        Host.Start();
        Host.Own(StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "server", StatusJson, log));
        log.LogInformation("Teredo server on {Primary} and {Secondary}, prefix {Prefix}/64, MTU {Mtu}, ICMPv6 to native IPv6 {Forwarding}, {Threads} thread(s) per address, control socket {Control}",
            primary, secondary, _engines[0].AdvertisedPrefix, engineOptions.Mtu, engineOptions.Ipv6Forwarding ? "on" : "off",
            settings.Threads, settings.ControlSocket);
        return Task.CompletedTask;
    }

    private void AddShard(string name, ServerOptions options, UdpBind primary, UdpBind secondary, Engines.PortHandle reads)
    {
        var engine = new TeredoServerEngine(options);
        _engines.Add(engine);
        var shard = Host.AddShard(name, engine, [primary, secondary], read: [reads], devices: 1);
        if (_raw is not null) Host.Attach(shard, TeredoServerEngine.NativeIpv6Device, _raw, read: false);
    }

    public long this[ServerCounter counter]
    {
        get
        {
            long sum = 0;
            foreach (var e in _engines) sum += e.Counters[counter];
            return sum;
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        var o = settings.Engine;
        j.WriteString("role", "server");
        j.WriteString("state", Host.Stopping ? "stopping" : "running");
        j.WriteString("primary", o.Primary.ToString());
        j.WriteString("secondary", o.SecondaryAddress.ToString());
        j.WriteString("prefix", $"{_engines.FirstOrDefault()?.AdvertisedPrefix}/64");
        j.WriteNumber("mtu", o.Mtu);
        j.WriteBoolean("ipv6Forwarding", _raw is not null);
        j.WriteBoolean("requireAuthentication", o.RequireAuthentication);
        j.WriteNumber("threadsPerAddress", settings.Threads);
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        Control.StatusJson.WriteCounters<ServerCounter>(j, c => this[c], ("sendErrors", Host.SendErrors));
    });

    protected override void OnStopping()
    {
        log.LogInformation("stopping: {Received} datagrams received, {Ra} router advertisements sent",
            this[ServerCounter.Received], this[ServerCounter.RouterAdvertisementSent]);
    }
}
