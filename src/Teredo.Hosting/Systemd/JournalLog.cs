using System.Text;
using Microsoft.Extensions.Logging;

namespace Teredo.Hosting.Systemd;

/// <summary>
/// The log line journald reads well, as the library's SystemdConsoleFormatter writes it (the generic host
/// uses that formatter; the light host writes this one, and a test holds the two equal): the syslog
/// priority as a "&lt;N&gt;" prefix, no timestamp (the journal adds its own), and one line per event, with
/// the message's and the exception's newlines turned into spaces.
/// </summary>
public static class JournalLog
{
    /// <summary>
    /// systemd sets INVOCATION_ID for every unit it runs and JOURNAL_STREAM when stderr is the journal;
    /// either means a timestamp would be said twice and a multi-line entry split.
    /// </summary>
    public static bool UnderSystemd =>
        Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null || Environment.GetEnvironmentVariable("INVOCATION_ID") is not null;

    /// <summary>syslog(3) priorities: debug 7, info 6, warning 4, err 3, crit 2.</summary>
    public static string Priority(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "<7>",
        LogLevel.Information => "<6>",
        LogLevel.Warning => "<4>",
        LogLevel.Error => "<3>",
        _ => "<2>",
    };

    public static string Line(LogLevel level, string category, int eventId, string message, Exception? exception)
    {
        var line = new StringBuilder(Priority(level)).Append(category).Append('[').Append(eventId).Append(']');
        if (message.Length > 0) line.Append(' ').Append(message.Replace(Environment.NewLine, " "));
        if (exception is not null) line.Append(' ').Append(exception.ToString().Replace(Environment.NewLine, " "));
        return line.ToString();
    }
}
