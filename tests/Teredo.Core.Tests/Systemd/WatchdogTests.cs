using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Teredo.Hosting.Systemd;

namespace Teredo.Tests.Systemd;

/// <summary>WATCHDOG=1 follows the packet loops' liveness, not a free-running timer.</summary>
public class WatchdogTests
{
    [Fact]
    public void A_loop_that_stops_beating_is_named_stale_and_one_that_ended_is_forgotten()
    {
        using var beaten = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        long beatAt = 0;
        var loop = new Thread(() =>
        {
            LoopLiveness.Beat();
            beatAt = Environment.TickCount64;
            beaten.Set();
            release.Wait();
        }) { Name = "test-stuck-loop" };
        loop.Start();
        beaten.Wait();

        Assert.DoesNotContain("test-stuck-loop", LoopLiveness.Stale(beatAt, 60_000));
        Assert.Contains("test-stuck-loop", LoopLiveness.Stale(beatAt + 3_600_000, 60_000));

        release.Set();
        loop.Join();
        Assert.DoesNotContain("test-stuck-loop", LoopLiveness.Stale(beatAt + 3_600_000, 60_000));
    }

    [Fact]
    public void The_watchdog_pings_while_no_loop_is_stale()
    {
        var notifier = new RecordingNotifier();
        using (new SystemdWatchdog(notifier, NullLogger.Instance, TimeSpan.FromSeconds(2), (_, _) => []))
        {
            Assert.True(notifier.States.TryTake(out string? state, TimeSpan.FromSeconds(30)));
            Assert.Equal("WATCHDOG=1", state);
        }
    }

    [Fact]
    public void The_watchdog_says_which_loop_is_stale_and_does_not_ping()
    {
        var notifier = new RecordingNotifier();
        var log = new RecordingLogger();
        using (new SystemdWatchdog(notifier, log, TimeSpan.FromSeconds(2), (_, _) => ["teredo-relay-udp"]))
        {
            Assert.True(log.Lines.TryTake(out string? line, TimeSpan.FromSeconds(30)));
            Assert.Contains("teredo-relay-udp", line);
        }
        Assert.Empty(notifier.States);
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("0", null, null)]
    [InlineData("garbage", null, null)]
    [InlineData("30000000", null, 30.0)]
    [InlineData("30000000", "1", null)]
    public void The_watchdog_time_is_systemd_s_for_this_process(string? usec, string? pid, double? seconds)
    {
        // Environment variables are process-wide: this test alone sets these two, and puts them back.
        string? oldUsec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        string? oldPid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        try
        {
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", usec);
            Environment.SetEnvironmentVariable("WATCHDOG_PID", pid);
            Assert.Equal(seconds, SystemdWatchdog.Timeout()?.TotalSeconds);
        }
        finally
        {
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", oldUsec);
            Environment.SetEnvironmentVariable("WATCHDOG_PID", oldPid);
        }
    }

    private sealed class RecordingLogger : ILogger
    {
        public BlockingCollection<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }

    private sealed class RecordingNotifier : ISystemdNotifier
    {
        public BlockingCollection<string> States { get; } = [];

        public bool IsEnabled => true;

        public void Notify(ServiceState state) => States.Add(state.ToString());
    }
}
