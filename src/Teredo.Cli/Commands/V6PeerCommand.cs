using System.CommandLine;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Ipv6Peer;
using Teredo.Hosting.Privileges;

namespace Teredo.Cli.Commands;

/// <summary>
/// <c>teredo v6peer</c>: the IPv6 peer of the P2P NAT64 network (DESIGN.md §B.4). The options are a contract
/// that scripts rely on (issue 13): -c FILE, --prefix, --pool, --coordinator..., --client-network...,
/// --allow-destination..., --relay, --interface, --control.
/// </summary>
public static class V6PeerCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Directive file (docs/v6peer.md); options override its lines" };
        var prefix = new Option<string?>("--prefix") { Description = "NAT64 prefix N/LEN offered to clients (RFC 6052: /32, /40, /48, /56, /64 or /96; default length 96)" };
        var pool = new Option<string?>("--pool") { Description = "NAT66 pool CIDR routed to this host: clients appear as its addresses" };
        var coordinator = new Option<string[]>("--coordinator") { Description = "A coordinator's public IPv4 address (repeat for several)", AllowMultipleArgumentsPerToken = false };
        var clientNetwork = new Option<string[]>("--client-network") { Description = "An IPv6 network whose hosts are served (repeat); no one else is" };
        var allow = new Option<string[]>("--allow-destination") { Description = "An IPv4 network served although not globally reachable (RFC 6890), e.g. a lab's (repeat)" };
        var relay = new Option<string?>("--relay") { Description = "external (default: the host's route to 2001::/32) or embedded" };
        var iface = new Option<string?>("--interface") { Description = "TUN interface name (default v6peer)" };
        var control = new Option<string?>("--control") { Description = "Control socket path for 'teredo status' (default /run/teredo/v6peer.sock)" };
        var probe = new Option<string?>("--probe-target") { Description = "A global IPv4 address pinged through every coordinator to watch its health" };
        var metrics = MetricsOption.Create();
        var user = UserOption.Create();
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("v6peer", "Run an IPv6 peer of the P2P NAT64 network: a NAT64 prefix for IPv6-only clients, through any Teredo relay")
        {
            config, prefix, pool, coordinator, clientNetwork, allow, relay, iface, control, probe, metrics, user, logLevel,
        };
        command.SetAction(r =>
        {
            Ipv6PeerHostSettings settings;
            PrivilegeDrop? drop;
            try
            {
                settings = Ipv6PeerConfiguration.Load(r.GetValue(config), o =>
                {
                    if (r.GetValue(user) is { } u) o["User"] = u;
                    if (r.GetValue(prefix) is { } p) o["Prefix"] = p;
                    if (r.GetValue(pool) is { } pl) o["Pool"] = pl;
                    if (r.GetValue(coordinator) is { Length: > 0 } c) o["Coordinator"] = string.Join(' ', c);
                    if (r.GetValue(clientNetwork) is { Length: > 0 } n) o["ClientNetwork"] = string.Join(' ', n);
                    if (r.GetValue(allow) is { Length: > 0 } a) o["AllowDestination"] = string.Join(' ', a);
                    if (r.GetValue(relay) is { } m) o["Relay"] = m;
                    if (r.GetValue(iface) is { } i) o["InterfaceName"] = i;
                    if (r.GetValue(control) is { } s) o["ControlSocket"] = s;
                    if (r.GetValue(metrics) is { } mx) o["Metrics"] = mx;
                    if (r.GetValue(probe) is { } t) o["ProbeTarget"] = t;
                });
                // Nothing after start: the routes go with the TUN at exit.
                drop = UserOption.Resolve(settings.User, []);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"teredo v6peer: {e.Message}");
                return ExitCodes.ConfigError;
            }
            return LightDaemonHost.Run<Ipv6PeerDaemon>("v6peer", r.GetValue(logLevel), drop, log => new Ipv6PeerDaemon(settings, log));
        });
        return command;
    }
}
