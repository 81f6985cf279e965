using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Teredo.Cli.Commands;

/// <summary>
/// Runs a role in the foreground, systemd style: logs on stderr one line each (journald adds the time
/// under systemd), stops cleanly on SIGTERM or Ctrl-C, exits non-zero when startup fails.
/// </summary>
public static class DaemonHost
{
    public const int ExitConfigError = 2;
    public const int ExitStartFailed = 1;

    public static int Run(string role, LogLevel level, Action<IServiceCollection> register)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(level);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = Environment.GetEnvironmentVariable("INVOCATION_ID") is null ? "yyyy-MM-ddTHH:mm:ss.fff " : null;
        });
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        register(builder.Services);
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
}
