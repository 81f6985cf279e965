using System.CommandLine;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Addresses;
using Teredo.Hosting.Client;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Privileges;

namespace Teredo.Cli.Commands;

/// <summary><c>teredo client [-c miredo.conf] [options]</c>: the RFC 4380 §5.2 client daemon on a TUN interface.</summary>
public static class ClientCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Configuration file (miredo.conf syntax, RelayType client, plus this project's directives)" };
        var server = new Option<string?>("--server") { Description = "Teredo server name or IPv4 address (ServerAddress)" };
        var server2 = new Option<string?>("--server2") { Description = "The server's secondary IPv4 address (ServerAddress2; default primary + 1)" };
        var iface = new Option<string?>("--interface") { Description = "Tunnel interface name (InterfaceName; default teredo)" };
        var bind = new Option<string?>("--bind") { Description = "IPv4 address to bind (BindAddress)" };
        var port = new Option<int?>("--port") { Description = "UDP port (BindPort; default: the kernel picks one at random)" };
        var control = new Option<string?>("--control") { Description = "Control socket path for 'teredo status' (default /run/teredo/client.sock)" };
        var noDefaultRoute = new Option<bool>("--no-default-route") { Description = "Route only 2001::/32 into the tunnel (DefaultRoute no)" };
        var strict = new Option<bool>("--strict-symmetric") { Description = "Refuse to qualify behind a symmetric NAT, as RFC 4380 says (StrictSymmetric yes)" };
        var refresh = new Option<int?>("--refresh-interval") { Description = "Refresh interval in seconds (RefreshInterval; default 30)" };
        var force = new Option<bool>("--force") { Description = "Run even though the host has global IPv6 (ForceWithIpv6 yes; RFC 4380 §5.5 says not to)" };
        var metrics = MetricsOption.Create();
        var user = UserOption.Create();
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("client", "Run a Teredo client (RFC 4380 §5.2, RFC 5991) on a TUN interface in the foreground; reads miredo.conf unchanged")
        {
            config, server, server2, iface, bind, port, control, noDefaultRoute, strict, refresh, force, metrics, user, logLevel,
        };
        command.SetAction(r =>
        {
            ClientHostSettings settings;
            PrivilegeDrop? drop;
            try
            {
                settings = ClientConfiguration.Load(r.GetValue(config), o =>
                {
                    if (r.GetValue(user) is { } u) o["User"] = u;
                    if (r.GetValue(server) is { } s) o["ServerAddress"] = s;
                    if (r.GetValue(server2) is { } s2) o["ServerAddress2"] = s2;
                    if (r.GetValue(iface) is { } i) o["InterfaceName"] = i;
                    if (r.GetValue(bind) is { } b) o["BindAddress"] = b;
                    if (r.GetValue(port) is { } p) o["BindPort"] = p.ToString();
                    if (r.GetValue(control) is { } c) o["ControlSocket"] = c;
                    if (r.GetValue(metrics) is { } mx) o["Metrics"] = mx;
                    if (r.GetValue(noDefaultRoute)) o["DefaultRoute"] = "no";
                    if (r.GetValue(strict)) o["StrictSymmetric"] = "yes";
                    if (r.GetValue(refresh) is { } ri) o["RefreshInterval"] = ri.ToString();
                    if (r.GetValue(force)) o["ForceWithIpv6"] = "yes";
                });
                // Configuration only parses; names and this host's addresses are looked up here, just before the start.
                settings = HostResolution.Resolve(settings);
                // CAP_NET_ADMIN: a new mapping or server changes the interface's address and routes later.
                drop = UserOption.Resolve(settings.User, [Capability.NetAdmin]);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"teredo client: {e.Message}");
                return ExitCodes.ConfigError;
            }
            // The light host: the client's startup is what a user waits on for an address (see LightDaemonHost).
            return LightDaemonHost.Run<ClientDaemon>("client", r.GetValue(logLevel), drop, log => new ClientDaemon(settings, log, drop));
        });
        return command;
    }
}
