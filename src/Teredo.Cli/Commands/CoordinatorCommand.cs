using System.CommandLine;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Coordinator;
using Teredo.Hosting.Privileges;

namespace Teredo.Cli.Commands;

/// <summary><c>teredo coordinator [-c FILE] [options]</c>: the P2P NAT64 network's coordinator (docs/coordinator.md).</summary>
public static class CoordinatorCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Directive file (docs/coordinator.md)" };
        var address = new Option<string?>("--address") { Description = "S, the coordinator's public IPv4 address; its /64 is 2001:0:S::/64 (Address)" };
        var tlsPort = new Option<int?>("--tls-port") { Description = "TCP port of the TLS control channel (TlsPort, default 3544)" };
        var cert = new Option<string?>("--cert") { Description = "PEM certificate (Certificate); without it a self-signed one is generated into the state directory" };
        var key = new Option<string?>("--key") { Description = "PEM private key of --cert (Key)" };
        var state = new Option<string?>("--state") { Description = "State directory: static addresses, generated certificate (StateDirectory, default /var/lib/teredo/coordinator)" };
        var control = new Option<string?>("--control") { Description = "Control socket for 'teredo status' (ControlSocket, default /run/teredo/coordinator.sock)" };
        var allow = new Option<string[]>("--allow-destination")
        {
            Description = "IPv4 CIDR allowed as a NAT64 destination although RFC 6890 says it is not global (AllowDestination; repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var tokenFile = new Option<string?>("--token-file") { Description = "Only peers presenting a token listed in FILE (one per line) join (TokenFile)" };
        var metrics = MetricsOption.Create();
        var user = UserOption.Create();
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("coordinator", "Run a P2P NAT64 coordinator in the foreground: TLS control sessions with IPv4 peers, relays' bubbles on UDP 3544")
        {
            config, address, tlsPort, cert, key, state, control, allow, tokenFile, metrics, user, logLevel,
        };
        command.SetAction(r =>
        {
            CoordinatorHostSettings settings;
            PrivilegeDrop? drop;
            try
            {
                settings = CoordinatorConfiguration.Load(r.GetValue(config), o =>
                {
                    if (r.GetValue(user) is { } u) o["User"] = u;
                    if (r.GetValue(address) is { } a) o["Address"] = a;
                    if (r.GetValue(tlsPort) is { } p) o["TlsPort"] = p.ToString();
                    if (r.GetValue(cert) is { } c) o["Certificate"] = c;
                    if (r.GetValue(key) is { } k) o["Key"] = k;
                    if (r.GetValue(state) is { } s) o["StateDirectory"] = s;
                    if (r.GetValue(control) is { } cs) o["ControlSocket"] = cs;
                    if (r.GetValue(metrics) is { } mx) o["Metrics"] = mx;
                    if (r.GetValue(tokenFile) is { } t) o["TokenFile"] = t;
                }, r.GetValue(allow));
                // Nothing: TCP and UDP 3544 are above 1024; the state directory becomes the user's.
                drop = UserOption.Resolve(settings.User, [], settings.StateDirectory);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"teredo coordinator: {e.Message}");
                return ExitCodes.ConfigError;
            }
            return LightDaemonHost.Run<CoordinatorDaemon>("coordinator", r.GetValue(logLevel), drop, log => new CoordinatorDaemon(settings, log));
        });
        return command;
    }
}
