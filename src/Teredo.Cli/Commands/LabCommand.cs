using System.CommandLine;
using System.Diagnostics;

namespace Teredo.Cli.Commands;

/// <summary>
/// <c>teredo lab ...</c>: the network-namespace lab. The topology is the bash script lab/lab.sh (ip,
/// iptables and tc read most clearly as shell); launching daemons, readiness, nat-check and the demo are
/// C# (Teredo.Cli.Lab), reached here directly and from lab.sh through the hidden verb <c>tool</c>.
/// </summary>
public static class LabCommand
{
    public const int ExitNeedsRoot = 3;

    public static Command Create()
    {
        var lab = new Command("lab", "Bring up and tear down the network-namespace lab (needs root)");

        var upName = new Argument<string>("name") { Description = "Topology name (see lab/README.md)" };
        var up = new Command("up", "Create a topology") { upName };
        up.SetAction(r => RunScript(["up", r.GetValue(upName)!]));

        var downName = new Argument<string?>("name") { Description = "Topology name; all of the lab when omitted", Arity = ArgumentArity.ZeroOrOne };
        var down = new Command("down", "Destroy a topology, or everything the lab made") { downName };
        down.SetAction(r => RunScript(r.GetValue(downName) is { } n ? ["down", n] : ["down"]));

        var node = new Argument<string>("node") { Description = "Lab node name" };
        var cmd = new Argument<string[]>("command") { Description = "Command to run in the node (after --)", Arity = ArgumentArity.OneOrMore };
        var exec = new Command("exec", "Run a command inside a lab node: teredo lab exec NODE -- CMD...") { node, cmd };
        exec.SetAction(r => RunScript(["exec", r.GetValue(node)!, "--", .. r.GetValue(cmd)!]));

        var list = new Command("list", "List running topologies and their nodes");
        list.SetAction(_ => RunScript(["list"]));

        var demo = new Command("demo", "Server, relay, a client behind a NAT and a native IPv6 host: qualify, ping, tear down");
        demo.SetAction(_ => RunTool(["demo"]));

        // lab.sh's launchers, wait-qualified, nat-check and demo land here: teredo lab tool -- VERB ARGS...
        var toolArgs = new Argument<string[]>("args") { Description = "VERB ARGS (after --)", Arity = ArgumentArity.ZeroOrMore };
        var tool = new Command("tool", "The lab's C# half, as lab.sh calls it") { toolArgs };
        tool.Hidden = true;
        tool.SetAction(r => RunTool(r.GetValue(toolArgs) ?? []));

        var rest = new Argument<string[]>("args") { Description = "Arguments for lab.sh", Arity = ArgumentArity.ZeroOrMore };
        var script = new Command("script", "Any other lab.sh verb (nat-flush, impair, iperf, miredo-*...); see lab/README.md") { rest };
        script.SetAction(r => RunScript(r.GetValue(rest) ?? []));

        lab.Subcommands.Add(up);
        lab.Subcommands.Add(down);
        lab.Subcommands.Add(exec);
        lab.Subcommands.Add(list);
        lab.Subcommands.Add(demo);
        lab.Subcommands.Add(script);
        lab.Subcommands.Add(tool);
        return lab;
    }

    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "lab", "lab.sh");

    private static int RunTool(string[] arguments)
    {
        if (Refusal() is { } code) return code;
        // lab.sh hands over its path and, when our daemons are wanted, TEREDO_BIN; when `teredo lab demo`
        // is the entry point, this CLI is the one that runs them (as RunScript gives lab.sh)
        if (Environment.GetEnvironmentVariable("TLAB_SCRIPT") is null)
        {
            Environment.SetEnvironmentVariable("TLAB_SCRIPT", ScriptPath);
            Environment.SetEnvironmentVariable("TEREDO_BIN", SelfCommand(""));
            Environment.SetEnvironmentVariable("TEREDO_DECODE", SelfCommand("decode"));
        }
        return Lab.LabTool.Run(arguments, Console.Out, Console.Error);
    }

    /// <summary>Why the lab cannot run here (not Linux, not root), as an exit code, or null.</summary>
    private static int? Refusal()
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("teredo lab: the lab needs Linux network namespaces");
            return ExitNeedsRoot;
        }
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("teredo lab: the lab needs root (it creates network namespaces); run it with sudo");
            return ExitNeedsRoot;
        }
        return null;
    }

    private static int RunScript(string[] arguments)
    {
        if (Refusal() is { } code) return code;
        if (!File.Exists(ScriptPath))
        {
            Console.Error.WriteLine($"teredo lab: {ScriptPath} is missing from this build");
            return 1;
        }
        var start = new ProcessStartInfo("bash") { UseShellExecute = false };
        start.ArgumentList.Add(ScriptPath);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        start.Environment["TEREDO_DECODE"] = SelfCommand("decode");
        start.Environment["TEREDO_BIN"] = SelfCommand("");
        start.Environment["TLAB_TOOL"] = SelfCommand("");
        using var process = Process.Start(start)!;
        // Ctrl-C reaches the script through the terminal's process group; wait so its trap can tear down.
        Console.CancelKeyPress += (_, e) => e.Cancel = true;
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>
    /// The command line that runs this same CLI, whether started as the apphost, as the Native AOT binary
    /// or through <c>dotnet teredo.dll</c>. The dll is found beside the app rather than through
    /// Assembly.Location, which is empty in a single-file or native build.
    /// </summary>
    private static string SelfCommand(string verb)
    {
        string process = Environment.ProcessPath ?? "teredo";
        return (Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? $"{process} {Path.Combine(AppContext.BaseDirectory, "teredo.dll")} {verb}"
            : $"{process} {verb}").TrimEnd();
    }
}
