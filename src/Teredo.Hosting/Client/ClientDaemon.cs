using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Teredo.Client;
using Teredo.Common;
using Teredo.Hosting.Addresses;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Control;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Packets;
using Teredo.Hosting.Tun;
using Teredo.Net;

namespace Teredo.Hosting.Client;

/// <summary>
/// Runs <see cref="TeredoClientEngine"/> on the <see cref="PacketHost"/> between a TUN interface and the
/// client's UDP sockets (service, and the optional secondary, probe and discovery ones): their loops and
/// the timer share the engine under the shard's lock, held only while it decides. The engine's events
/// (address acquired, changed, lost...) reach <see cref="Apply"/> on the host's events thread, which
/// configures the interface with ip(8) and logs, in order, so that a slow ip never holds up packets.
/// </summary>
public sealed class ClientDaemon(ClientHostSettings settings, ILogger<ClientDaemon> log, PrivilegeDrop? drop = null) : PacketDaemon(new PacketHostOptions { ThreadPrefix = "teredo-client" })
{
    private static readonly UdpBindOptions SideSocket = new() { BufferBytes = 1 << 16 };

    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private TeredoClientEngine? _engine;
    private PacketShard? _shard;
    private ITunDevice? _tun;
    private ClientInterface? _interface;
    private UdpBind? _udp;
    private UdpBind? _secondary;
    private UdpBind? _probe;
    private UdpBind? _discovery;
    private Ipv4Endpoint? _local;
    private long _startedTicks;

    public TeredoClientEngine? Engine => _engine;

    public override Task StartAsync(CancellationToken cancellationToken)
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
        _udp = Host.Own(UdpBind.Open(new Ipv4Endpoint(settings.BindAddress, settings.BindPort), new UdpBindOptions { BufferBytes = 1 << 20, Segmentation = true }));
        _local = LocalEndpoint(options.Server);
        if (options.LocalDiscovery)
        {
            var network = LocalNetwork(_local.Value.Address)
                ?? throw new InvalidOperationException($"local discovery: no interface holds {_local.Value.Address}, so the local network is unknown");
            options = options with { LocalNetwork = network };
            _discovery = Host.Own(OpenDiscoverySocket(_local.Value.Address));
        }
        // The cone probe of qualification leaves from its own socket (see the engine's qualification).
        _probe = Host.Own(UdpBind.Open(new Ipv4Endpoint(settings.BindAddress, 0), SideSocket));
        if (options.RefreshDetermination) _secondary = Host.Own(UdpBind.Open(new Ipv4Endpoint(settings.BindAddress, 0), SideSocket));

        // Qualification starts first (the engine's first timer call, due at once): its round trip overlaps
        // with creating and configuring the interface.
        _engine = new TeredoClientEngine(options);
        _shard = Host.AddShard<ClientEvent>("client", _engine, OnEvent, [_udp, _secondary, _probe, _discovery], devices: 1);
        _startedTicks = Environment.TickCount64;
        Host.Start();
        // Before the interface gets its address: whoever sees the address can ask for the status.
        Host.Own(StatusEndpoints.Start(settings.ControlSocket, settings.Metrics, "client", StatusJson, log));

        var tun = Host.Own(LinuxTun.Open(settings.InterfaceName));
        _tun = tun;
        _interface = new ClientInterface(tun.Name, Teredo.Wire.Ipv6Packet.MinimumMtu, settings.DefaultRoute, settings.RouteMetric);
        _interface.Prepare();
        // Events wait in their queue until the interface exists; the first address brings it up.
        // --user: dropped on the events thread, as it runs ip(8) for every later address change (see PrivilegeDrop).
        Host.StartEvents(() => drop?.Apply());
        Host.Attach(_shard, TeredoClientEngine.TunDevice, tun);
        log.LogInformation("Teredo client on {Interface} (MTU 1280), UDP {Local}, server {Server} (secondary {Secondary}){Secure}, {Routes}, control socket {Control}",
            tun.Name, _local, options.Server, options.SecondaryServerAddress, options.Secret is null ? "" : ", secure qualification",
            settings.DefaultRoute ? "default route" : "route 2001::/32 only", settings.ControlSocket);
    }

    /// <summary>Applies one engine event to the interface and logs it; on the host's events thread, in order.</summary>
    private void OnEvent(ClientEvent e)
    {
        try { Apply(e); }
        catch (Exception ex) when (ex is IpCommandException or InvalidOperationException or IOException)
        {
            log.LogError("could not apply {Event} to {Interface}: {Error}", e.Kind, settings.InterfaceName, ex.Message);
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
        lock (_shard!.Gate)
        {
            ClientStatus.Write(j, _engine!, Environment.TickCount64, _tun?.Name, _local, settings.DefaultRoute,
                Host.SendErrors, _shard.DroppedEvents, (long)_uptime.Elapsed.TotalSeconds, Host.Stopping);
        }
    });

    /// <summary>The address and port the service socket uses toward the server (its bound port, the route's source).</summary>
    private Ipv4Endpoint LocalEndpoint(Ipv4Address server)
    {
        var bound = _udp!.Local;
        var address = bound.Address;
        if (address == Ipv4Address.Any)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(new IPEndPoint(server.ToIPAddress(), Teredo.Addressing.TeredoAddress.Port));
            address = Ipv4Address.FromIPAddress(((IPEndPoint)probe.LocalEndPoint!).Address);
        }
        return new Ipv4Endpoint(address, bound.Port);
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
    private UdpBind OpenDiscoverySocket(Ipv4Address local)
    {
        var bind = UdpBind.Open(new Ipv4Endpoint(TeredoClientEngine.DiscoveryAddress, Teredo.Addressing.TeredoAddress.Port), SideSocket with { ReuseAddress = true });
        try
        {
            bind.Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership,
                new MulticastOption(TeredoClientEngine.DiscoveryAddress.ToIPAddress(), local.ToIPAddress()));
            // Discovery bubbles leave from the service port, on the local interface, with TTL 1.
            _udp!.Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, local.ToIPAddress().GetAddressBytes());
            _udp.Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
            return bind;
        }
        catch
        {
            bind.Dispose();
            throw;
        }
    }

    protected override void OnStopping()
    {
        if (_engine is { } e)
            log.LogInformation("stopping: state {State}, {Peers} peers, {Delivered} packets delivered, {Sent} sent to trusted peers",
                ClientStatus.Name(e.State), e.Peers.Count, e.Counters[ClientCounter.DeliveredFromTrustedPeer] + e.Counters[ClientCounter.DeliveredFromTeredoPeer]
                + e.Counters[ClientCounter.DeliveredUnverified] + e.Counters[ClientCounter.DeliveredFromServer], e.Counters[ClientCounter.SentToTrustedPeer]);
    }
}
