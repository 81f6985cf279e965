using System.CommandLine;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Addresses;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Relay;

namespace Teredo.Cli.Commands;

/// <summary><c>teredo relay [-c miredo.conf] [options]</c>: the RFC 4380 §5.4 relay (or host-specific relay) daemon.</summary>
public static class RelayCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Configuration file (miredo.conf syntax, RelayType relay/cone/restricted, plus this project's directives)" };
        var iface = new Option<string?>("--interface") { Description = "Tunnel interface name (InterfaceName; default teredo)" };
        var bind = new Option<string?>("--bind") { Description = "IPv4 address to bind (BindAddress)" };
        var port = new Option<int?>("--port") { Description = "UDP port (BindPort; default: the kernel picks)" };
        var hostSpecific = new Option<bool>("--host-specific") { Description = "Serve only this host's own IPv6 addresses (RFC 4380 §4.2.2)" };
        var relayAddress = new Option<string?>("--relay-address") { Description = "Source of the ICMPv6 errors the relay sends (default: the host's first global IPv6 address)" };
        var control = new Option<string?>("--control") { Description = "Control socket path for 'teredo status' (default /run/teredo/relay.sock)" };
        var metrics = MetricsOption.Create();
        var user = UserOption.Create();
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("relay", "Run a Teredo relay (RFC 4380 §5.4) in the foreground; reads miredo.conf (relay modes) unchanged")
        {
            config, iface, bind, port, hostSpecific, relayAddress, control, metrics, user, logLevel,
        };
        command.SetAction(r =>
        {
            RelayHostSettings settings;
            PrivilegeDrop? drop;
            try
            {
                settings = RelayConfiguration.Load(r.GetValue(config), o =>
                {
                    if (r.GetValue(user) is { } u) o["User"] = u;
                    if (r.GetValue(iface) is { } i) o["InterfaceName"] = i;
                    if (r.GetValue(bind) is { } b) o["BindAddress"] = b;
                    if (r.GetValue(port) is { } p) o["BindPort"] = p.ToString();
                    if (r.GetValue(hostSpecific)) o["HostSpecific"] = "yes";
                    if (r.GetValue(relayAddress) is { } a) o["RelayAddress"] = a;
                    if (r.GetValue(control) is { } c) o["ControlSocket"] = c;
                    if (r.GetValue(metrics) is { } mx) o["Metrics"] = mx;
                });
                // Configuration only parses; names and this host's addresses are looked up here, just before the start.
                settings = HostResolution.Resolve(settings);
                // Nothing after start: the TUN is open and routed; its route goes with it at exit.
                drop = UserOption.Resolve(settings.User, []);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"teredo relay: {e.Message}");
                return ExitCodes.ConfigError;
            }
            return LightDaemonHost.Run<RelayDaemon>("relay", r.GetValue(logLevel), drop, log => new RelayDaemon(settings, log));
        });
        return command;
    }
}
