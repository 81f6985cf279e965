using System.CommandLine;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Configuration;
using Teredo.Hosting.Nat64;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Tun;

namespace Teredo.Cli.Commands;

/// <summary>
/// <c>teredo nat64</c>: a drop-in Tayga. Takes Tayga's command line (so a wrapper named tayga that runs
/// <c>teredo nat64 "$@"</c> stands in for it under Debian's init script, systemd units or scripts) and
/// reads tayga.conf(5) unchanged; docs/nat64.md.
/// </summary>
public static class Nat64Command
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "Configuration file in tayga.conf(5) syntax", DefaultValueFactory = _ => Nat64Configuration.DefaultConfigFile };
        var debug = new Option<bool>("-d") { Description = "Debug messages; implies --nodetach" };
        var nodetach = new Option<bool>("--nodetach", "-n") { Description = "Stay in the foreground (systemd, Debian's init script and the lab use this)" };
        var mktun = new Option<bool>("--mktun") { Description = "Create the configured tun-device as a persistent interface and exit" };
        var rmtun = new Option<bool>("--rmtun") { Description = "Remove the persistent tun-device and exit" };
        var pidfile = new Option<string?>("--pidfile", "-p") { Description = "Write the daemon's process ID to this file" };
        var user = new Option<string?>("--user", "-u") { Description = "Switch to this user (name or uid) once the TUN is set up" };
        var group = new Option<string?>("--group", "-g") { Description = "Switch to this group (name or gid); default the user's group" };
        var chroot = new Option<bool>("--chroot", "-r") { Description = "Tayga's chroot to data-dir: refused (the .NET runtime loads files after start); see docs/nat64.md" };
        var control = new Option<string?>("--control") { Description = $"Control socket for 'teredo status' (default {Nat64Configuration.DefaultControlSocket}; tayga.conf: control-socket)" };
        var queues = new Option<int?>("--queues") { Description = "TUN queues, one packet thread each (tayga.conf: queues; default 1)" };
        var metrics = MetricsOption.Create("metrics");
        var logLevel = new Option<LogLevel?>("--log-level") { Description = "Trace, Debug, Information, Warning, Error (default Information; Debug with -d)" };
        var command = new Command("nat64", "Stateless NAT64 (RFC 7915, RFC 6052, RFC 7757) on a TUN: a drop-in Tayga; reads tayga.conf unchanged")
        {
            config, debug, nodetach, mktun, rmtun, pidfile, user, group, chroot, control, queues, metrics, logLevel,
        };
        command.SetAction(r =>
        {
            var error = Console.Error;
            if (r.GetValue(chroot))
            {
                error.WriteLine("teredo nat64: --chroot is not supported (docs/nat64.md); run under systemd's RootDirectory= or drop it");
                return ExitCodes.ConfigError;
            }
            Nat64HostSettings settings;
            try
            {
                settings = Nat64Configuration.Load(r.GetValue(config)!, o =>
                {
                    if (r.GetValue(control) is { } c) o["control-socket"] = c;
                    if (r.GetValue(metrics) is { } mx) o["metrics"] = mx;
                    if (r.GetValue(queues) is { } q) o["queues"] = q.ToString(System.Globalization.CultureInfo.InvariantCulture);
                });
            }
            catch (ConfigException e)
            {
                error.WriteLine($"teredo nat64: {e.Message}");
                return ExitCodes.ConfigError;
            }
            if (r.GetValue(mktun) || r.GetValue(rmtun)) return Persist(settings.TunDevice, r.GetValue(mktun), error);

            PrivilegeDrop? drop;
            try
            {
                // Like Tayga, nothing is kept: the TUN and its routes are set up; data-dir becomes the user's.
                drop = PrivilegeDrop.Resolve(r.GetValue(user), r.GetValue(group), [], settings.DataDirectory);
            }
            catch (InvalidOperationException e)
            {
                error.WriteLine($"teredo nat64: {e.Message}");
                return ExitCodes.ConfigError;
            }
            bool isDebug = r.GetValue(debug);
            if (!isDebug && !r.GetValue(nodetach)) return BackgroundLaunch.Run(settings.ControlSocket, TimeSpan.FromSeconds(30), error);
            var level = r.GetValue(logLevel) ?? (isDebug ? LogLevel.Debug : LogLevel.Information);
            return LightDaemonHost.Run<Nat64Daemon>("nat64", level, drop, log => new Nat64Daemon(settings, log, new Nat64ProcessOptions(r.GetValue(pidfile))));
        });
        return command;
    }

    /// <summary>--mktun / --rmtun: the interface made persistent (routes and firewall rules can then be set before the daemon starts) or removed.</summary>
    private static int Persist(string device, bool make, TextWriter error)
    {
        try
        {
            using var tun = LinuxTun.Open(device);
            tun.SetPersistent(make);
            Console.WriteLine(make ? $"Created persistent tun device {tun.Name}" : $"Removed persistent tun device {tun.Name}");
            return 0;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            error.WriteLine($"teredo nat64: {e.Message}");
            return ExitCodes.StartFailed;
        }
    }
}
