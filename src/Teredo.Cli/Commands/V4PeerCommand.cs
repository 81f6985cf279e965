using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Ipv4Peer;
using Teredo.Hosting.Privileges;

namespace Teredo.Cli.Commands;

/// <summary>
/// <c>teredo v4peer -c FILE</c> or <c>teredo v4peer --coordinator HOST[:PORT] --pin SHA256 [options]</c>:
/// donate this host's IPv4 connectivity to the P2P NAT64 network (docs/v4peer.md).
/// </summary>
public static class V4PeerCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "Directive file (docs/v4peer.md)" };
        var coordinator = new Option<string?>("--coordinator") { Description = "HOST[:PORT] of the coordinator's TLS control channel (Coordinator; port 3544 by default)" };
        var pin = new Option<string?>("--pin") { Description = "SHA-256 of the coordinator's certificate, as 'teredo coordinator' prints it (Pin); without it the certificate is checked against the system's CAs" };
        var token = new Option<string?>("--token") { Description = "Join token, when the coordinator wants one (Token)" };
        var pool = new Option<string?>("--pool") { Description = "Private IPv4 pool IPv6 users are given addresses of, on the TUN (Pool, default 10.255.46.0/24; checked against this host's routes)" };
        var iface = new Option<string?>("--interface") { Description = "Name of the TUN interface (Interface, default teredo-v4peer)" };
        var state = new Option<string?>("--state") { Description = "State directory: the identity that keeps the static address across restarts (StateDirectory, default /var/lib/teredo/v4peer)" };
        var control = new Option<string?>("--control") { Description = "Control socket for 'teredo status' (ControlSocket, default /run/teredo/v4peer.sock)" };
        var allow = new Option<string[]>("--allow-destination")
        {
            Description = "IPv4 CIDR that users may reach although RFC 6890 says it is not global, e.g. a lab's 198.18.0.0/15 (AllowDestination; repeatable; logged)",
            AllowMultipleArgumentsPerToken = false,
        };
        var rate = new Option<double?>("--rate-limit") { Description = "Bandwidth cap in megabits per second over both directions (RateLimit; default none)" };
        var metrics = MetricsOption.Create();
        var user = UserOption.Create();
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error", DefaultValueFactory = _ => LogLevel.Information };
        var command = new Command("v4peer", "Run a P2P NAT64 IPv4 peer in the foreground: carry IPv6 users' traffic to the IPv4 Internet from behind any NAT")
        {
            config, coordinator, pin, token, pool, iface, state, control, allow, rate, metrics, user, logLevel,
        };
        command.SetAction(r =>
        {
            V4PeerHostSettings settings;
            PrivilegeDrop? drop;
            try
            {
                settings = V4PeerConfiguration.Load(r.GetValue(config), o =>
                {
                    if (r.GetValue(user) is { } u) o["User"] = u;
                    if (r.GetValue(coordinator) is { } c) o["Coordinator"] = c;
                    if (r.GetValue(pin) is { } p) o["Pin"] = p;
                    if (r.GetValue(token) is { } t) o["Token"] = t;
                    if (r.GetValue(pool) is { } pl) o["Pool"] = pl;
                    if (r.GetValue(iface) is { } i) o["Interface"] = i;
                    if (r.GetValue(state) is { } s) o["StateDirectory"] = s;
                    if (r.GetValue(control) is { } cs) o["ControlSocket"] = cs;
                    if (r.GetValue(metrics) is { } mx) o["Metrics"] = mx;
                    if (r.GetValue(rate) is { } rl) o["RateLimit"] = rl.ToString(CultureInfo.InvariantCulture);
                }, r.GetValue(allow));
                // CAP_NET_ADMIN: the nftables table and the forwarding sysctl are undone at exit.
                drop = UserOption.Resolve(settings.User, [Capability.NetAdmin], settings.StateDirectory);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"teredo v4peer: {e.Message}");
                return ExitCodes.ConfigError;
            }
            return LightDaemonHost.Run<V4PeerDaemon>("v4peer", r.GetValue(logLevel), drop, log => new V4PeerDaemon(settings, log));
        });
        return command;
    }
}
