using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Systemd;

namespace Teredo.Cli.Commands;

/// <summary>
/// Runs a role in the foreground, systemd style: logs on stderr one line each (the library's
/// SystemdConsoleFormatter under systemd: priority prefixes, no timestamp), root dropped once started
/// (--user), READY/WATCHDOG/STOPPING to systemd, stops cleanly on SIGTERM or Ctrl-C, exits non-zero when
/// startup fails.
/// </summary>
public static class DaemonHost
{
    public const int ExitConfigError = 2;
    public const int ExitStartFailed = 1;

    public static int Run(string role, LogLevel level, PrivilegeDrop? drop, Action<IServiceCollection> register)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(level);
        if (JournalLog.UnderSystemd) builder.Logging.AddSystemdConsole();
        else builder.Logging.AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "yyyy-MM-ddTHH:mm:ss.fff "));
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        // READY=1 and STOPPING=1 from the library's SystemdLifetime, WATCHDOG=1 from AfterStart, all through
        // one SystemdNotifier. Not AddSystemd(): it turns the lifetime on only when the parent process is
        // systemd, while a notify socket is what says someone listens (a test's, or a supervisor's).
        var systemd = new SystemdNotifier();
        if (systemd.IsEnabled)
        {
            builder.Services.AddSingleton<ISystemdNotifier>(systemd);
            builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        register(builder.Services);
        // Last: hosted services start in order, so the daemon's TUN and sockets are open by then.
        builder.Services.AddHostedService(p => new AfterStart(drop, systemd, p.GetRequiredService<ILoggerFactory>().CreateLogger(role)));
        using var host = builder.Build();
        try
        {
            host.Run();
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"teredo {role}: {e.Message}");
            return ExitStartFailed;
        }
    }

    /// <summary><see cref="DaemonStarted"/> as the generic host's last hosted service; SystemdLifetime says READY=1 after it.</summary>
    private sealed class AfterStart(PrivilegeDrop? drop, ISystemdNotifier systemd, ILogger log) : IHostedService
    {
        private SystemdWatchdog? _watchdog;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _watchdog = DaemonStarted.Complete(drop, systemd, log);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            _watchdog?.Dispose();
            return Task.CompletedTask;
        }
    }
}
