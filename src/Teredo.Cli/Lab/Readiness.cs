using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Teredo.Hosting.Control;

namespace Teredo.Cli.Lab;

/// <summary>
/// How a launcher knows its daemon is ready: a condition polled every 50 ms (given the time since the
/// start) until it holds, the daemon dies, or the timeout passes. Our daemons are asked through their
/// control socket, the document <c>teredo status --control SOCK --json</c> prints, read in-process so a
/// poll starts no process; Miredo and Tayga by what they leave behind (a route, a pidfile, surviving).
/// </summary>
public sealed record Readiness(string What, TimeSpan Timeout, Func<TimeSpan, bool> Check)
{
    /// <summary>The control socket answers and its status document satisfies <paramref name="ready"/>.</summary>
    public static Readiness Status(string socket, string what, Func<JsonElement, bool> ready, TimeSpan? timeout = null) =>
        new($"{what} (status of {socket})", timeout ?? TimeSpan.FromSeconds(10), _ => StatusProbe.Read(socket) is { } s && ready(s));

    /// <summary>The node routes 2001::/32 through the tunnel interface (what a relay sets up last).</summary>
    public static Readiness TeredoRoute(string node, string ifname) =>
        new($"2001::/32 dev {ifname}", TimeSpan.FromSeconds(5),
            _ => LabContext.Ip(node, "-6", "route", "show", "2001::/32").Stdout.Contains("dev " + ifname, StringComparison.Ordinal));

    /// <summary>A file the daemon writes once it runs (Tayga's own pidfile).</summary>
    public static Readiness FileWritten(string path) =>
        new(path, TimeSpan.FromSeconds(5), _ => new FileInfo(path) is { Exists: true, Length: > 0 });

    /// <summary>Still running after a short settling time (a daemon that tells nothing before it works).</summary>
    public static Readiness Survives(TimeSpan settle) => new($"running after {settle.TotalSeconds} s", settle + TimeSpan.FromSeconds(1), t => t >= settle);

    /// <summary>Polls until ready; throws with the log's last lines when the daemon dies or the time runs out.</summary>
    public void Wait(string name, string node, string pidFile, string logFile)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            bool ready = Check(clock.Elapsed);
            if (TrackedProcess.Alive(pidFile) is null)
                throw new LabException($"{name} in {node} died before it was ready: {LabShell.Tail(logFile)}");
            if (ready) return;
            if (clock.Elapsed > Timeout)
                throw new LabException($"{name} in {node} not ready after {Timeout.TotalSeconds} s (waited for {What}): {LabShell.Tail(logFile)}");
            Thread.Sleep(50);
        }
    }
}

/// <summary>A daemon's status document, straight from its control socket.</summary>
public static class StatusProbe
{
    public static JsonElement? Read(string socket)
    {
        if (!File.Exists(socket)) return null;
        try
        {
            using var doc = JsonDocument.Parse(ControlClient.ReadStatus(socket, TimeSpan.FromSeconds(5)));
            return doc.RootElement.Clone();
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException) { return null; }
    }

    public static string? String(JsonElement status, string property) =>
        status.ValueKind == JsonValueKind.Object && status.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
