namespace Teredo.Cli.Lab;

/// <summary>
/// One row of the launcher table (<see cref="Launchers"/>): a daemon the lab can start in a node. Which
/// options the lab reads itself (the rest go to the daemon when <see cref="PassesRest"/>), which tracked
/// processes it replaces (stopped first: one server, relay or translator per node), and how to plan a
/// start from the node and the options: the command, the files it needs and how to know it is ready.
/// </summary>
public sealed record DaemonKind(
    string Name,
    string Usage,
    string Process,
    string[] Replaces,
    string[] Valued,
    string[] Flags,
    bool PassesRest,
    Func<LaunchRequest, LaunchPlan> Plan);

/// <summary>What a launcher is given: the lab, the node, its arguments and the address plan.</summary>
public sealed record LaunchRequest(LabContext Lab, string Node, LaunchArgs Args, LabPlan Plan)
{
    public string Dir => Lab.NodeDir(Node);
    public string File(string name) => Lab.NodeFile(Node, name);
    public string[] Teredo => Lab.RequireTeredo();
    /// <summary>The arguments passed on to one of our daemons.</summary>
    public string[] Rest => [.. Args.Positional, .. Args.Rest];
}

/// <summary>
/// A planned start: the command (run in the node's namespace), how readiness shows, the line printed
/// once it is ready, and what to do afterwards (the coordinator writes its pin for the peers).
/// </summary>
public sealed record LaunchPlan(string[] Command, Readiness Ready, Func<string> Summary, Action? After = null);
