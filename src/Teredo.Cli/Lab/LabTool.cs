using System.Globalization;

namespace Teredo.Cli.Lab;

/// <summary>
/// The lab's C# half, reached as <c>teredo lab tool -- VERB ARGS...</c> (lab/lab.sh forwards these verbs
/// here, so lab tests and bench scripts keep calling lab.sh): every launcher of <see cref="Launchers"/>,
/// tayga (Debian's or, with the word teredo, ours), tayga-stop, wait-qualified, nat-check, iperf and demo.
/// </summary>
public static class LabTool
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count == 0)
        {
            error.WriteLine($"usage: teredo lab tool -- VERB ARGS (verbs: {string.Join(' ', Launchers.Table.Keys)} tayga-stop wait-qualified nat-check iperf demo)");
            return 2;
        }
        var lab = LabContext.FromEnvironment(error);
        string verb = args[0];
        var rest = args.Skip(1).ToList();
        try
        {
            switch (verb)
            {
                case "demo":
                    return Demo.Run(LabContext.FromEnvironment(output));
                case "nat-check":
                    if (rest.Count != 1) throw new LabException("usage: lab.sh nat-check CLIENT");
                    output.Write(NatCheck.Run(lab, LabPlan.Load(lab), rest[0]));
                    return 0;
                case "iperf":
                    output.Write(Iperf.Run(lab, LabPlan.Load(lab), rest));
                    return 0;
                case "wait-qualified":
                    return WaitQualified(lab, rest, output, error);
                case "tayga-stop":
                    if (rest.Count != 1) throw new LabException("usage: lab.sh tayga-stop NODE");
                    Translators.Stop(lab, LabContext.Node(rest[0]));
                    return 0;
                case "tayga":
                    // tayga NODE [tayga|teredo] ...: the implementation word picks the table entry
                    if (rest.Count > 1 && rest[1] is "tayga" or "teredo")
                    {
                        verb = rest[1] == "teredo" ? "nat64" : "tayga";
                        rest.RemoveAt(1);
                    }
                    break;
            }
            if (!Launchers.Table.TryGetValue(verb, out var kind)) throw new LabException($"unknown verb '{verb}'");
            DaemonLauncher.Launch(lab, LabPlan.Load(lab), kind, rest);
            return 0;
        }
        catch (LabException e)
        {
            error.WriteLine("lab: " + e.Message);
            return 1;
        }
    }

    private static int WaitQualified(LabContext lab, List<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count is < 1 or > 2) throw new LabException("usage: lab.sh wait-qualified NODE [TIMEOUT]");
        string node = LabContext.Node(args[0]);
        if (!LabContext.NodeExists(node)) throw new LabException("no such node: " + node);
        int seconds = args.Count > 1 ? int.Parse(args[1], NumberStyles.None, CultureInfo.InvariantCulture) : 30;
        if (DaemonLauncher.WaitQualified(lab, node, TimeSpan.FromSeconds(seconds)) is { } address)
        {
            output.WriteLine(address);
            return 0;
        }
        error.WriteLine($"lab: {node} not qualified after {seconds}s");
        if (File.Exists(lab.NodeFile(node, "miredo-client.log"))) error.WriteLine("lab:   " + LabShell.Tail(lab.NodeFile(node, "miredo-client.log"), 5));
        return 1;
    }
}
