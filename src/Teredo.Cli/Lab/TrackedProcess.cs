using System.Diagnostics;
using System.Globalization;

namespace Teredo.Cli.Lab;

/// <summary>
/// The lab's process tracking, in the format lab/lab.sh reads and sweeps: STATE/NODE/NAME.pid holds
/// "PID STARTTIME" (the start time guards against a reused PID) and STATE/NODE/NAME.log the output. A
/// tracked process runs detached (setsid), so it outlives the command that started it; lab.sh's
/// teardown stops it with everything else.
/// </summary>
public static class TrackedProcess
{
    public static string PidFile(LabContext lab, string node, string name) => lab.NodeFile(node, name + ".pid");
    public static string LogFile(LabContext lab, string node, string name) => lab.NodeFile(node, name + ".log");

    /// <summary>Starts COMMAND in NODE's namespace as NAME; returns its PID.</summary>
    public static int Start(LabContext lab, string node, string name, IReadOnlyList<string> command)
    {
        Directory.CreateDirectory(lab.NodeDir(node));
        // bash only for the redirections: the daemon itself is exec'ed by setsid and ip netns exec
        var r = LabShell.Run("bash",
            ["-c", "log=$1; shift; setsid \"$@\" </dev/null >\"$log\" 2>&1 & echo $!", "lab-start", LogFile(lab, node, name),
             .. LabContext.InNode(node, [.. command])],
            TimeSpan.FromSeconds(10));
        if (!r.Ok || !int.TryParse(r.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            throw new LabException($"cannot start {name} in {node}: {r.Stderr.Trim()}");
        File.WriteAllText(PidFile(lab, node, name), $"{pid} {StartTime(pid)}\n");
        return pid;
    }

    /// <summary>The PID recorded in PIDFILE when that same process still runs (not a zombie), else null.</summary>
    public static int? Alive(string pidFile)
    {
        string[] words;
        try { words = File.ReadAllText(pidFile).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries); }
        catch (IOException) { return null; }
        if (words.Length == 0 || !int.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) return null;
        if (!Running(pid)) return null;
        if (words.Length > 1 && StartTime(pid) != words[1]) return null;
        return pid;
    }

    /// <summary>SIGTERM to every recorded process at once, one grace period (2.5 s) for all, then SIGKILL.</summary>
    public static void Stop(params string[] pidFiles)
    {
        var pids = new List<int>();
        foreach (string f in pidFiles)
        {
            if (Alive(f) is { } pid) pids.Add(pid);
            try { File.Delete(f); } catch (IOException) { }
        }
        if (pids.Count == 0) return;
        Signal("TERM", pids);
        var deadline = Stopwatch.StartNew();
        while (deadline.ElapsedMilliseconds < 2500)
        {
            pids.RemoveAll(p => !Running(p));
            if (pids.Count == 0) return;
            Thread.Sleep(50);
        }
        Signal("KILL", pids);
    }

    private static void Signal(string signal, List<int> pids) =>
        LabShell.Run("kill", ["-" + signal, .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))], TimeSpan.FromSeconds(5));

    /// <summary>Exists and is not a zombie (our daemons are reparented to PID 1, which may reap late).</summary>
    private static bool Running(int pid) => Stat(pid) is { } fields && fields[0] != "Z";

    private static string? StartTime(int pid) => Stat(pid) is { Length: > 19 } fields ? fields[19] : null;

    /// <summary>/proc/PID/stat from field 3 (state) on: the command name in parentheses may hold spaces.</summary>
    private static string[]? Stat(int pid)
    {
        try
        {
            string text = File.ReadAllText($"/proc/{pid}/stat");
            int close = text.LastIndexOf(')');
            return close < 0 ? null : text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
