using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Privileges;
using Teredo.Hosting.Systemd;

namespace Teredo.Cli.Commands;

/// <summary>
/// How every daemon verb runs its role: one <see cref="IHostedService"/> in the foreground, one log line
/// per event on stderr (journald's format under systemd), root dropped once started (--user), READY=1,
/// WATCHDOG=1 and STOPPING=1 to systemd through the library's <see cref="SystemdNotifier"/>, clean stop
/// on SIGTERM or Ctrl-C, <see cref="ExitCodes.StartFailed"/> when startup fails — without the generic
/// host. The generic host's configuration binding, dependency injection and console logger cost about
/// 150 ms of JIT at startup (the client spends it before it can send its first solicitation), and
/// a daemon that is one engine and its sockets has nothing to inject.
/// </summary>
public static class LightDaemonHost
{
    public static int Run<T>(string role, LogLevel level, PrivilegeDrop? drop, Func<ILogger<T>, T> create) where T : IHostedService, IDisposable
    {
        var logger = new StderrLogger<T>(level, JournalLog.UnderSystemd);
        var systemd = new SystemdNotifier();
        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var service = create(logger);
        SystemdWatchdog? watchdog;
        try
        {
            service.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
            // This thread also runs StopAsync: the capabilities it keeps are the ones undoing host changes needs.
            watchdog = DaemonStarted.Complete(drop, systemd, logger);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or SocketException)
        {
            Console.Error.WriteLine($"teredo {role}: {e.Message}");
            return ExitCodes.StartFailed;
        }
        DaemonStarted.Notify(systemd, ServiceState.Ready, logger);
        stop.Wait();
        DaemonStarted.Notify(systemd, ServiceState.Stopping, logger);
        watchdog?.Dispose();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        service.StopAsync(deadline.Token).GetAwaiter().GetResult();
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }
    }

    /// <summary>
    /// The generic host's console formats by hand: under systemd the library's SystemdConsoleFormatter
    /// line (<see cref="JournalLog"/>), elsewhere the simple one, "time level: category[0] message".
    /// </summary>
    internal sealed class StderrLogger<T>(LogLevel minimum, bool journal, TextWriter? output = null) : ILogger<T>
    {
        private static readonly string Category = typeof(T).FullName ?? typeof(T).Name;
        private static readonly Lock Gate = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string message = formatter(state, exception);
            string line = journal ? JournalLog.Line(logLevel, Category, eventId.Id, message, exception) : Simple(logLevel, eventId, message, exception);
            lock (Gate) (output ?? Console.Error).WriteLine(line);
        }

        private static string Simple(LogLevel logLevel, EventId eventId, string message, Exception? exception)
        {
            string level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            string time = DateTime.Now.ToString("yyyy-MM-ddTHH:mm:ss.fff ", System.Globalization.CultureInfo.InvariantCulture);
            return $"{time}{level}: {Category}[{eventId.Id}] {message}{(exception is null ? "" : " " + exception)}";
        }
    }
}
