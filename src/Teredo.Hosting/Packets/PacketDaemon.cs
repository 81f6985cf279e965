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

    /// <summary>The role's last words before the host stops: its closing log line (what it did), a goodbye to a coordinator.</summary>
    protected abstract void OnStopping();

    public Task StopAsync(CancellationToken cancellationToken)
    {
        OnStopping();
        Dispose();
        return Task.CompletedTask;
    }

    /// <summary>After the loops stopped and the host closed what it owns: undo what the start changed on the host.</summary>
    protected virtual void AfterHostStopped() { }

    public void Dispose()
    {
        Host.Dispose();
        AfterHostStopped();
        GC.SuppressFinalize(this);
    }
}
