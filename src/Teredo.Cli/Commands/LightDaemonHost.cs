using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Teredo.Cli.Commands;

/// <summary>
/// Runs one <see cref="IHostedService"/> the way <see cref="DaemonHost"/> does — foreground, one log line
/// per event on stderr (no timestamp under systemd, which adds its own), READY=1 to systemd when it
/// asks, clean stop on SIGTERM or Ctrl-C, non-zero exit when startup fails — without the generic host.
/// The generic host's configuration binding, dependency injection and console logger cost about 150 ms
/// of JIT at startup, which the Teredo client spends before it can even send its first solicitation;
/// the client's whole qualification takes one round trip, so that was most of the time a user waited
/// for an address.
/// </summary>
public static class LightDaemonHost
{
    public static int Run<T>(string role, LogLevel level, Func<ILogger<T>, T> create) where T : IHostedService, IDisposable
    {
        var logger = new StderrLogger<T>(level);
        using var stop = new ManualResetEventSlim();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var service = create(logger);
        try
        {
            service.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or SocketException)
        {
            Console.Error.WriteLine($"teredo {role}: {e.Message}");
            return DaemonHost.ExitStartFailed;
        }
        NotifySystemd("READY=1");
        stop.Wait();
        NotifySystemd("STOPPING=1");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        service.StopAsync(deadline.Token).GetAwaiter().GetResult();
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }
    }

    /// <summary>sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, when systemd set it.</summary>
    private static void NotifySystemd(string state)
    {
        string? path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path)) return;
        if (path[0] == '@') path = "\0" + path[1..];
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(System.Text.Encoding.ASCII.GetBytes(state));
        }
        catch (SocketException)
        {
            // systemd is not listening after all; nothing to tell.
        }
    }

    /// <summary>The simple console format of <see cref="DaemonHost"/>: "time level: category[0] message".</summary>
    private sealed class StderrLogger<T>(LogLevel minimum) : ILogger<T>
    {
        private static readonly bool Journald = Environment.GetEnvironmentVariable("INVOCATION_ID") is not null;
        private static readonly string Category = typeof(T).FullName ?? typeof(T).Name;
        private static readonly Lock Gate = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            string time = Journald ? "" : DateTime.Now.ToString("yyyy-MM-ddTHH:mm:ss.fff ", System.Globalization.CultureInfo.InvariantCulture);
            string line = $"{time}{level}: {Category}[{eventId.Id}] {formatter(state, exception)}{(exception is null ? "" : " " + exception)}";
            lock (Gate) Console.Error.WriteLine(line);
        }
    }
}
