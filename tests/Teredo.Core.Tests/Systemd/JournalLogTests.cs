using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Teredo.Cli.Commands;
using Teredo.Hosting.Systemd;

namespace Teredo.Tests.Systemd;

/// <summary>
/// Under systemd both hosts write what journald reads well: the generic host through the library's
/// SystemdConsoleFormatter, the light host through <see cref="JournalLog"/>, held equal here line for line.
/// </summary>
public class JournalLogTests
{
    private static readonly InvalidOperationException Failure = MakeFailure();

    [Theory]
    [InlineData(LogLevel.Trace, "<7>")]
    [InlineData(LogLevel.Debug, "<7>")]
    [InlineData(LogLevel.Information, "<6>")]
    [InlineData(LogLevel.Warning, "<4>")]
    [InlineData(LogLevel.Error, "<3>")]
    [InlineData(LogLevel.Critical, "<2>")]
    public void Levels_are_syslog_priorities(LogLevel level, string prefix) => Assert.Equal(prefix, JournalLog.Priority(level));

    [Fact]
    public void A_line_is_priority_category_event_and_message_without_a_timestamp() =>
        Assert.Equal("<4>Teredo.Hosting.Relay.RelayDaemon[7] queue full for 2001:0:c000:201::1",
            JournalLog.Line(LogLevel.Warning, "Teredo.Hosting.Relay.RelayDaemon", 7, "queue full for 2001:0:c000:201::1", null));

    [Fact]
    public void Newlines_in_the_message_and_the_exception_stay_on_one_line()
    {
        string line = JournalLog.Line(LogLevel.Error, "c", 0, "first\nsecond", Failure);
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("<3>c[0] first second System.InvalidOperationException: broken", line);
    }

    [Theory]
    [InlineData(LogLevel.Debug, "a message", false)]
    [InlineData(LogLevel.Information, "qualified in 12 ms:\n2001:0:c000:201::1", false)]
    [InlineData(LogLevel.Warning, "", false)]
    [InlineData(LogLevel.Error, "could not apply", true)]
    [InlineData(LogLevel.Critical, "two\nlines", true)]
    public void The_light_host_writes_what_the_library_formatter_writes(LogLevel level, string message, bool withException)
    {
        var exception = withException ? Failure : null;
        Assert.Equal(Library(level, "Teredo.Tests.Systemd.JournalLogTests", 3, message, exception),
            Light(level, 3, message, exception));
    }

    [Fact]
    public void Outside_systemd_the_light_host_keeps_its_timestamped_line()
    {
        string line = Light(LogLevel.Information, 0, "hello", null, journal: false);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info: Teredo\.Tests\.Systemd\.JournalLogTests\[0\] hello$", line);
    }

    private static string Light(LogLevel level, int eventId, string message, Exception? exception, bool journal = true)
    {
        var output = new StringWriter();
        var logger = new LightDaemonHost.StderrLogger<JournalLogTests>(LogLevel.Trace, journal, output);
        logger.Log(level, new EventId(eventId), message, exception, (s, _) => s);
        return output.ToString().TrimEnd('\n');
    }

    /// <summary>The library's own "systemd" console formatter, as AddSystemdConsole registers it.</summary>
    private static string Library(LogLevel level, string category, int eventId, string message, Exception? exception)
    {
        using var services = new ServiceCollection().AddLogging(b => b.AddSystemdConsole()).BuildServiceProvider();
        var formatter = services.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Systemd);
        var output = new StringWriter();
        var entry = new LogEntry<string>(level, category, new EventId(eventId), message, exception, (s, _) => s);
        formatter.Write(in entry, null, output);
        return output.ToString().TrimEnd('\n');
    }

    private static InvalidOperationException MakeFailure()
    {
        try { throw new InvalidOperationException("broken\nacross lines"); }
        catch (InvalidOperationException e) { return e; }
    }
}
