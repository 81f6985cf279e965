using System.Diagnostics;

namespace Teredo.Cli.Lab;

/// <summary>
/// What every launcher does, once: check the node, read the lab's options, stop the tracked processes
/// this daemon replaces, plan the start (<see cref="Launchers"/>), start it tracked, wait until it is
/// ready, and say where it runs.
/// </summary>
public static class DaemonLauncher
{
    public static void Launch(LabContext lab, LabPlan plan, DaemonKind kind, IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new LabException($"usage: lab.sh {kind.Name} {kind.Usage}");
        string node = LabContext.Node(args[0]);
        if (!LabContext.NodeExists(node)) throw new LabException("no such node: " + node);
        var parsed = LaunchArgs.Parse([.. args.Skip(1)], kind.Valued, kind.Flags);
        if (!kind.PassesRest && (parsed.Rest.Count > 0 || parsed.Positional.Count > 0))
            throw new LabException($"{kind.Name}: unknown option {parsed.Positional.Concat(parsed.Rest).First()}");
        Directory.CreateDirectory(lab.NodeDir(node));
        TrackedProcess.Stop([.. kind.Replaces.Select(n => TrackedProcess.PidFile(lab, node, n))]);
        var launch = kind.Plan(new LaunchRequest(lab, node, parsed, plan));
        string pidFile = TrackedProcess.PidFile(lab, node, kind.Process);
        TrackedProcess.Start(lab, node, kind.Process, launch.Command);
        launch.Ready.Wait(kind.Name, node, pidFile, TrackedProcess.LogFile(lab, node, kind.Process));
        launch.After?.Invoke();
        lab.Say(launch.Summary());
    }

    /// <summary>
    /// Waits until NODE's Teredo interface (teredo, or the one its launcher recorded) has a 2001:0:
    /// address and returns it, or null after <paramref name="timeout"/>.
    /// </summary>
    public static string? WaitQualified(LabContext lab, string node, TimeSpan timeout)
    {
        string ifname = lab.ReadNodeFile(node, "teredo-ifname") ?? "teredo";
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (TeredoAddress(LabContext.Ip(node, "-6", "-o", "addr", "show", "dev", ifname, "scope", "global").Stdout) is { } a) return a;
            if (clock.Elapsed > timeout) return null;
            Thread.Sleep(50);
        }
    }

    /// <summary>The first 2001:0: address in `ip -o addr show` output.</summary>
    public static string? TeredoAddress(string ipOutput)
    {
        foreach (string word in ipOutput.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
            if (word.StartsWith("2001:0:", StringComparison.Ordinal)) return word.Split('/')[0];
        return null;
    }
}
