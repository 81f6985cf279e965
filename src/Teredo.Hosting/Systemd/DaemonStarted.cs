using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Teredo.Hosting.Privileges;

namespace Teredo.Hosting.Systemd;

/// <summary>
/// What every daemon does once its StartAsync returned, whichever host runs it: give up root (unless the
/// daemon already did it on the thread that needs the kept capabilities), say so, and start the systemd
/// watchdog pings. The caller then tells systemd READY=1.
/// </summary>
public static class DaemonStarted
{
    /// <exception cref="InvalidOperationException">setuid, setgid, capset or chown failed.</exception>
    public static SystemdWatchdog? Complete(PrivilegeDrop? drop, ISystemdNotifier notifier, ILogger log)
    {
        if (drop is not null)
        {
            drop.Apply();
            log.LogInformation("dropped root: running as {Identity}", drop);
        }
        return SystemdWatchdog.Start(notifier, log);
    }

    /// <summary>
    /// The library's notifier throws when the socket cannot be reached (systemd re-executing, or a socket
    /// the dropped user may not use); a daemon keeps forwarding packets rather than die of it.
    /// </summary>
    public static void Notify(ISystemdNotifier notifier, ServiceState state, ILogger log)
    {
        try { notifier.Notify(state); }
        catch (System.Net.Sockets.SocketException e) { log.LogWarning("could not tell systemd {State}: {Error}", state, e.Message); }
    }
}
