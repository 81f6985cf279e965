using System.CommandLine;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Addresses;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Server;

namespace Teredo.Cli.Commands;

/// <summary><c>teredo server [-c miredo-server.conf] [options]</c>: the RFC 4380 §5.3 server daemon.</summary>
public static class ServerCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Configuration file (miredo-server.conf syntax plus this project's directives)" };
        var primary = new Option<string?>("--primary") { Description = "Primary IPv4 address (ServerBindAddress)" };
        var secondary = new Option<string?>("--secondary") { Description = "Secondary IPv4 address (ServerBindAddress2; default primary + 1)" };
        var control = new Option<string?>("--control") { Description = "Control socket path for 'teredo status' (default /run/teredo/server.sock)" };
        var threads = new Option<int?>("--threads") { Description = "Receive threads per address (default: one per core)" };
        var forwarding = new Option<string?>("--ipv6-forwarding") { Description = "Relay clients' ICMPv6 to native IPv6: auto (default), yes or no" };
        var rateLimit = new Option<int?>("--advertisement-rate-limit") { Description = "Router Advertisements per second per client IPv4 address; 0 = unlimited" };
        var metrics = MetricsOption.Create();
        var user = UserOption.Create();
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("server", "Run a Teredo server (RFC 4380 §5.3) in the foreground; reads miredo-server.conf unchanged")
        {
            config, primary, secondary, control, threads, forwarding, rateLimit, metrics, user, logLevel,
        };
        command.SetAction(r =>
        {
            ServerHostSettings settings;
            PrivilegeDrop? drop;
            try
            {
                settings = ServerConfiguration.Load(r.GetValue(config), o =>
                {
                    if (r.GetValue(user) is { } u) o["User"] = u;
                    if (r.GetValue(primary) is { } p) o["ServerBindAddress"] = p;
                    if (r.GetValue(secondary) is { } s) o["ServerBindAddress2"] = s;
                    if (r.GetValue(control) is { } c) o["ControlSocket"] = c;
                    if (r.GetValue(metrics) is { } mx) o["Metrics"] = mx;
                    if (r.GetValue(threads) is { } t) o["Threads"] = t.ToString();
                    if (r.GetValue(forwarding) is { } f) o["Ipv6Forwarding"] = f;
                    if (r.GetValue(rateLimit) is { } l) o["AdvertisementRateLimit"] = l.ToString();
                });
                // Configuration only parses; names and this host's addresses are looked up here, just before the start.
                settings = HostResolution.Resolve(settings);
                // Nothing after start: the sockets, the raw one included, are open.
                drop = UserOption.Resolve(settings.User, []);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"teredo server: {e.Message}");
                return ExitCodes.ConfigError;
            }
            return LightDaemonHost.Run<ServerDaemon>("server", r.GetValue(logLevel), drop, log => new ServerDaemon(settings, log));
        });
        return command;
    }
}
