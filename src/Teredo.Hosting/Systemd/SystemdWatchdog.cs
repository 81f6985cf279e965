using System.Globalization;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Teredo.Hosting.Systemd;

/// <summary>
/// WATCHDOG=1 to systemd (WatchdogSec= in the unit) while the packet loops live: every quarter of the
/// watchdog time it pings if every packet thread has come back to its loop within half of it
/// (<see cref="LoopLiveness"/>). A wedged loop stops the pings, and systemd restarts the daemon after
/// WatchdogSec; a free-running timer would keep a dead daemon "alive". Sent through the library's
/// <see cref="ISystemdNotifier"/>, the one way every daemon talks to systemd.
/// </summary>
public sealed class SystemdWatchdog : IDisposable
{
    private static readonly ServiceState Alive = new("WATCHDOG=1");

    private readonly ISystemdNotifier _notifier;
    private readonly ILogger _log;
    private readonly long _maxAgeMs;
    private readonly TimeSpan _period;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private readonly Func<long, long, IReadOnlyList<string>> _stale;

    /// <param name="stale">The packet loops that stopped beating (<see cref="LoopLiveness.Stale"/>; tests give their own).</param>
    internal SystemdWatchdog(ISystemdNotifier notifier, ILogger log, TimeSpan timeout, Func<long, long, IReadOnlyList<string>>? stale = null)
    {
        _stale = stale ?? LoopLiveness.Stale;
        _notifier = notifier;
        _log = log;
        _maxAgeMs = (long)(timeout.TotalMilliseconds / 2);
        _period = timeout / 4;
        _thread = new Thread(Run) { IsBackground = true, Name = "teredo-watchdog" };
        _thread.Start();
    }

    /// <summary>Null unless systemd asked for pings (WATCHDOG_USEC, for this process when WATCHDOG_PID says which).</summary>
    public static SystemdWatchdog? Start(ISystemdNotifier notifier, ILogger log) =>
        Timeout() is { } timeout && notifier.IsEnabled ? new SystemdWatchdog(notifier, log, timeout) : null;

    /// <summary>sd_watchdog_enabled(3): the watchdog time systemd set for this process, if any.</summary>
    public static TimeSpan? Timeout()
    {
        if (!ulong.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong usec) || usec == 0)
            return null;
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid is not null && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture)) return null;
        return TimeSpan.FromMicroseconds(usec);
    }

    private void Run()
    {
        bool reported = false;
        while (!_stop.Wait(_period))
        {
            var stale = _stale(Environment.TickCount64, _maxAgeMs);
            if (stale.Count == 0) DaemonStarted.Notify(_notifier, Alive, _log);
            else if (!reported) _log.LogError("watchdog: {Threads} not back to their loop for {Ms} ms; no longer telling systemd this daemon is alive", string.Join(' ', stale), _maxAgeMs);
            reported = stale.Count > 0;
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
