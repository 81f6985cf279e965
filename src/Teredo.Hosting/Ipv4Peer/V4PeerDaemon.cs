using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.P2p;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Sockets;
using Teredo.Hosting.Tun;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Ipv4Peer;

namespace Teredo.Hosting.Ipv4Peer;

/// <summary>
/// <c>teredo v4peer</c>: the P2P network's IPv4 peer. The TLS session to the coordinator (CoordinatorClient)
/// feeds control notices into <see cref="Ipv4PeerEngine"/>; one UDP socket carries every Teredo packet; a
/// TUN carries the pool's IPv4, which the kernel masquerades out under the daemon's own nftables table.
/// The packet loops, the engine's timer, its events (use reports and refused leases, sent to the coordinator
/// off the packet path) and shutdown are the <see cref="PacketHost"/>'s; the control notices go in through
/// <see cref="PacketHost.Invoke"/>. Everything the daemon changes on the host is logged at start and undone on stop.
/// </summary>
public sealed class V4PeerDaemon(V4PeerHostSettings settings, ILogger<V4PeerDaemon> log)
    : PacketDaemon(new PacketHostOptions { ThreadPrefix = "teredo-v4peer", SlotSize = 2048 })
{
    /// <summary>1280 (Teredo's IPv6 MTU) − 20: a full IPv4 packet on the TUN translates to exactly 1280.</summary>
    public const int TunMtu = 1260;
    /// <summary>1280 − 40 (IPv6) − 20 (TCP): the largest segment that fits Teredo, clamped in both directions.</summary>
    public const int MssClamp = 1220;

    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly List<string> _changes = [];
    private readonly List<LeaseUse> _report = [];
    private readonly List<Ipv6Address> _refused = [];
    private Ipv4PeerEngine? _engine;
    private PacketShard? _shard;
    private CoordinatorClient? _client;
    private LinuxTun? _tun;
    private UdpBind? _udp;
    private string? _nftTable;
    private bool _forwardingTurnedOn;
    private long _reportsSent;
    private long _releasesSent;

    public Ipv4PeerEngine? Engine => _engine;
    public CoordinatorClient? Client => _client;
    public Ipv4Endpoint? TeredoSocket => _udp?.Local;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(settings.StateDirectory);
        var local = settings.LocalAddress ?? SourceAddressToward(settings.CoordinatorHost, settings.CoordinatorPort);
        var options = settings.EngineOptions(local);
        _engine = new Ipv4PeerEngine(options);
        try
        {
            SetUpHost(local);
        }
        catch
        {
            Dispose();
            throw;
        }
        _shard = Host.AddShard<Ipv4PeerEvent>("v4peer", _engine, OnEngineEvent, [_udp], devices: 1);
        Host.Attach(_shard, Ipv4PeerEngine.TunDevice, _tun!);
        Host.Start();
        Host.StartEvents();

        _client = new CoordinatorClient(new CoordinatorClientOptions
        {
            Host = settings.CoordinatorHost,
            Port = settings.CoordinatorPort,
            Pin = settings.Pin,
            StateDirectory = settings.StateDirectory,
            Token = settings.Token,
            LocalAddress = local,
            Capacity = (uint)settings.MaxLeases,
            BandwidthKbps = (uint)Math.Min(uint.MaxValue, settings.RateLimitMbit * 1000),
        }, log);
        var shard = _shard;
        ControlBinding.Bind(_client, _engine, call => Host.Invoke(shard, call));
        _client.Start();
        Host.Own(StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "v4peer", StatusJson, log));
        log.LogInformation("v4peer: coordinator {Host}:{Port} ({Verify}), local address {Local}, Teredo socket {Udp}, pool {Pool} on {Tun} (MTU {Mtu}), rate limit {Rate}, control socket {Control}",
            settings.CoordinatorHost, settings.CoordinatorPort, settings.Pin is null ? "CA-verified" : "pinned", local, _udp!.Local,
            settings.Pool, _tun!.Name, TunMtu, settings.RateLimitMbit > 0 ? $"{settings.RateLimitMbit} Mbit/s" : "none", settings.ControlSocket);
        foreach (var a in settings.AllowDestinations)
            log.LogWarning("allowing NAT64 destination {Prefix} although RFC 6890 says it is not globally reachable (--allow-destination)", a);
        return Task.CompletedTask;
    }

    /// <summary>TUN, addresses, firewall and forwarding; each change is recorded so that stop undoes exactly it.</summary>
    private void SetUpHost(Ipv4Address local)
    {
        _udp = Host.Own(UdpBind.Open(new Ipv4Endpoint(Ipv4Address.Any, settings.TeredoPort)));
        var conflicts = HostNetwork.Conflicts(settings.Pool, settings.InterfaceName);
        if (conflicts.Count > 0)
            throw new InvalidOperationException($"the pool {settings.Pool} overlaps this host's {string.Join("; ", conflicts)}: choose another with --pool");
        _tun = Host.Own(LinuxTun.Open(settings.InterfaceName));
        var ip = TunConfigurator.For(_tun);
        // An IPv4-only TUN: below IPv6's 1280 minimum, which TunConfigurator guards for IPv6 tunnels.
        IpCommand.Run("link", "set", "dev", _tun.Name, "mtu", TunMtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ip.SetUp(_tun.Name);
        var translator = new Ipv4Address(settings.Pool.Network.Value + 1);
        ip.AddAddress(_tun.Name, translator, settings.Pool.Length);
        _changes.Add($"created interface {_tun.Name} (MTU {TunMtu}) with {translator}/{settings.Pool.Length}, routing the pool {settings.Pool} to it");
        if (!settings.ManageFirewall) return;

        bool forwardingWasOff = !HostNetwork.ForwardingEnabled();
        _nftTable = "teredo_v4peer_" + _tun.Name.Replace('-', '_');
        NftablesTable.Apply(new NftablesPlan(_nftTable, _tun.Name, settings.Pool, local, settings.AllowDestinations,
            settings.MaxFlowsPerSource, MssClamp, forwardingWasOff));
        _changes.Add($"added nftables table ip {_nftTable}: forwarding only between {_tun.Name} and the outside, masquerade of {settings.Pool}, " +
                     $"RFC 6890 destinations refused, at most {settings.MaxFlowsPerSource} connections per user, TCP MSS clamped to {MssClamp}, " +
                     $"only {local} (this host) reachable through the static address");
        if (forwardingWasOff)
        {
            HostNetwork.SetForwarding(true);
            _forwardingTurnedOn = true;
            _changes.Add("turned IPv4 forwarding on (net.ipv4.ip_forward=1); the table forwards nothing but the pool's traffic");
        }
        foreach (string change in _changes) log.LogInformation("host change: {Change}", change);
    }

    /// <summary>The address this host uses toward the coordinator (connecting a UDP socket sends nothing).</summary>
    private static Ipv4Address SourceAddressToward(string host, int port)
    {
        var address = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                      ?? throw new InvalidOperationException($"{host} has no IPv4 address");
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(new IPEndPoint(address, port));
        return Ipv4Address.FromIPAddress(((IPEndPoint)probe.LocalEndPoint!).Address);
    }

    /// <summary>
    /// On the host's events thread: a due use report or refused leases go to the coordinator. Both are taken
    /// from the engine under the shard's lock; the sends wait outside it, so packets never wait for TLS.
    /// </summary>
    private void OnEngineEvent(Ipv4PeerEvent e)
    {
        _report.Clear();
        _refused.Clear();
        lock (_shard!.Gate)
        {
            if (e == Ipv4PeerEvent.ReportDue) _engine!.CollectUseReport(Environment.TickCount64, _report);
            else _engine!.TakeRefusedLeases(_refused);
        }
        if (_client is not { IsConnected: true } client) return;
        try
        {
            if (_report.Count > 0 && client.ReportUseAsync(_report).GetAwaiter().GetResult()) Interlocked.Increment(ref _reportsSent);
            foreach (var address in _refused)
                if (client.SendAsync(new LeaseReleased(address, LeaseEndReason.PeerReleased)).GetAwaiter().GetResult())
                    Interlocked.Increment(ref _releasesSent);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The session dropped meanwhile; the client reconnects and the next report carries on.
        }
    }

    public string StatusJson() => Control.StatusJson.Build(j =>
    {
        long now = Environment.TickCount64;
        var client = _client;
        j.WriteString("role", "v4peer");
        j.WriteString("state", Host.Stopping ? "stopping" : client is null ? "starting" : client.IsConnected ? "connected" : client.State);
        j.WriteString("coordinator", $"{settings.CoordinatorHost}:{settings.CoordinatorPort}");
        j.WriteString("verification", settings.Pin is null ? "CA" : "pin " + CertificatePin.Format(settings.Pin));
        if (client is not null)
        {
            j.WriteString("identity", client.Identity.ToString("x32"));
            j.WriteNumber("connects", client.Connects);
            j.WriteNumber("failures", client.Failures);
            if (client.NextRetryIn is { } retry && !client.IsConnected) j.WriteNumber("retryInSeconds", retry.TotalSeconds);
        }
        j.WriteString("interface", _tun?.Name);
        j.WriteString("teredoSocket", _udp?.Socket.LocalEndPoint?.ToString());
        j.WriteString("pool", settings.Pool.ToString());
        j.WriteNumber("rateLimitMbit", settings.RateLimitMbit);
        j.WriteNumber("uptimeSeconds", (long)_uptime.Elapsed.TotalSeconds);
        j.WriteStartArray("hostChanges");
        foreach (string c in _changes) j.WriteStringValue(c);
        j.WriteEndArray();
        j.WriteStartArray("allowedDestinations");
        foreach (var a in settings.AllowDestinations) j.WriteStringValue(a.ToString());
        j.WriteEndArray();
        var engine = _engine;
        if (engine is null) return;
        lock (_shard!.Gate)
        {
            if (engine.Welcome is { } w)
            {
                j.WriteString("prefix", $"{new Ipv6Address(w.Prefix, 0)}/64");
                j.WriteString("staticAddress", w.HasStaticAddress ? w.StaticAddress.ToString() : null);
                j.WriteString("localAddress", engine.Options.LocalAddress.ToString());
            }
            j.WriteNumber("leaseCount", engine.LeaseCount);
            j.WriteStartArray("leases");
            int shown = 0;
            foreach (var held in engine.Held)
            {
                if (shown++ == 100) break;
                WriteHeld(j, held, now);
            }
            j.WriteEndArray();
            j.WriteNumber("relayRouteCount", engine.Relays.Count);
            j.WriteStartArray("relays");
            shown = 0;
            foreach (var route in engine.Relays.NewestFirst())
            {
                if (shown++ == 50) break;
                j.WriteStartObject();
                j.WriteString("source", route.Source.ToString());
                j.WriteString("relay", route.Relay.ToString());
                j.WriteNumber("lastHeardSecondsAgo", (now - route.LastHeardMs) / 1000.0);
                j.WriteNumber("packetsIn", route.PacketsIn);
                j.WriteNumber("packetsOut", route.PacketsOut);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            Control.StatusJson.WriteCounters<Ipv4PeerCounter>(j, c => engine.Counters[c], ("sendErrors", Host.SendErrors),
                ("useReportsSent", Interlocked.Read(ref _reportsSent)), ("leasesReleased", Interlocked.Read(ref _releasesSent)));
            if (engine.Translator is { } t)
            {
                j.WriteStartObject("translator");
                j.WriteNumber("dynamicMappings", t.Map.DynamicCount);
                Control.StatusJson.WriteCounters<Nat64Counter>(j, c => t.Counters[c]);
                j.WriteEndObject();
            }
        }
    });

    private static void WriteHeld(Utf8JsonWriter j, HeldAddress held, long now)
    {
        j.WriteStartObject();
        j.WriteString("address", held.Address.ToString());
        j.WriteString("kind", held.IsStatic ? "static" : "lease");
        j.WriteNumber("packetsIn", held.PacketsIn);
        j.WriteNumber("packetsOut", held.PacketsOut);
        j.WriteNumber("bytesIn", held.BytesIn);
        j.WriteNumber("bytesOut", held.BytesOut);
        if (held.LastUseMs != long.MinValue) j.WriteNumber("idleSeconds", (now - held.LastUseMs) / 1000.0);
        if (!held.IsStatic) j.WriteNumber("expiresInSeconds", (held.ExpiresMs - now) / 1000.0);
        j.WriteEndObject();
    }

    protected override void OnStopping() =>
        // The goodbye first, while the session is up: the coordinator moves our leases at once. Waited
        // for here rather than awaited, so that undoing the host changes runs on the host's thread: after
        // --user that is the only thread keeping the CAP_NET_ADMIN it needs (PrivilegeDrop).
        _client?.StopAsync().GetAwaiter().GetResult();

    protected override void AfterHostStopped() => UndoHostChanges();

    private void UndoHostChanges()
    {
        if (_nftTable is { } table)
        {
            try
            {
                NftablesTable.Remove(table);
                log.LogInformation("host change undone: deleted nftables table ip {Table}", table);
            }
            catch (InvalidOperationException e) { log.LogError("could not delete nftables table ip {Table}: {Message}", table, e.Message); }
            _nftTable = null;
        }
        if (_forwardingTurnedOn)
        {
            try
            {
                HostNetwork.SetForwarding(false);
                log.LogInformation("host change undone: IPv4 forwarding off again");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { log.LogError("could not turn IPv4 forwarding off again: {Message}", e.Message); }
            _forwardingTurnedOn = false;
        }
        if (_tun is not null) log.LogInformation("host change undone: interface {Tun} removed with its address and route", _tun.Name);
    }
}
