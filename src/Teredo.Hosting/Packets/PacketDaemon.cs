using Microsoft.Extensions.Hosting;

namespace Teredo.Hosting.Packets;

/// <summary>
/// What every daemon on the <see cref="PacketHost"/> shares: the host, and a stop that logs the role's
/// closing line, stops the loops and closes what the start opened (<see cref="PacketHost.Own"/>). A role
/// writes its start, its status and its closing line.
/// </summary>
public abstract class PacketDaemon(PacketHostOptions options) : IHostedService, IDisposable
{
    protected PacketHost Host { get; } = new(options);

    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <summary>The role's last log line (what it did), before the host stops.</summary>
    protected abstract void LogStopping();

    public Task StopAsync(CancellationToken cancellationToken)
    {
        LogStopping();
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Host.Dispose();
        GC.SuppressFinalize(this);
    }
}
