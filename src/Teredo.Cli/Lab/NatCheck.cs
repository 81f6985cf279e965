using System.Diagnostics;

namespace Teredo.Cli.Lab;

/// <summary>
/// nat-check CLIENT: probes the NAT in front of a lab client with UDP (socat in the namespaces), collects
/// a <see cref="NatObservation"/> and prints <see cref="NatVerdict.Report"/>. The outside peers are host4
/// and srv; every receiver is a tracked process, stopped before the report.
/// </summary>
public static class NatCheck
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(5);

    public static string Run(LabContext lab, LabPlan plan, string clientName)
    {
        string client = LabContext.Node(clientName);
        if (!LabContext.NodeExists(client)) throw new LabException("no such node: " + client);
        string nat = lab.ReadNodeFile(client, "nat") ?? throw new LabException($"{client} is not behind a lab NAT");
        if (!LabContext.NodeExists("host4") || !LabContext.NodeExists("srv")) throw new LabException("nat-check needs host4 and srv (topology basic or nat)");
        string kind = lab.ReadNodeFile(nat, "nat-kind") ?? "?";
        string dir = lab.NodeFile(client, "natcheck");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        (int p, int q) = FreePorts(client);
        string host4 = plan["HOST4_V4"], srv = plan["SRV_V4A"];

        // mapping: one client port to two destinations; filtering: a second port talks to host4:7102 only
        var recorders = new[] { ("host4", "nc-h4", 7101, "host4.txt"), ("srv", "nc-srv", 7101, "srv.txt"), ("host4", "nc-h4b", 7102, "host4b.txt") };
        foreach (var (node, name, port, file) in recorders) Recorder(lab, node, name, port, Path.Combine(dir, file));
        foreach (var (node, _, port, _) in recorders) WaitListening(node, port);
        Send(client, p, host4, 7101, "mapA");
        Send(client, p, srv, 7101, "mapB");
        Send(client, q, host4, 7102, "filt");
        WaitFor(TimeSpan.FromSeconds(2), () => recorders.All(r => new FileInfo(Path.Combine(dir, r.Item4)) is { Exists: true, Length: > 0 }));
        TrackedProcess.Stop([.. recorders.Select(r => TrackedProcess.PidFile(lab, r.Item1, r.Item2))]);
        string? e1 = FirstSource(Path.Combine(dir, "host4.txt")), e2 = FirstSource(Path.Combine(dir, "srv.txt")), eq = FirstSource(Path.Combine(dir, "host4b.txt"));
        if (e1 is null || e2 is null || eq is null)
            throw new LabException($"nat-check: probes did not arrive (host4: '{e1}', srv: '{e2}', host4/7102: '{eq}')");

        string got = Path.Combine(dir, "client.txt");
        TrackedProcess.Start(lab, client, "nc-cl", ["socat", "-u", $"UDP4-RECV:{q},reuseaddr", $"OPEN:{got},creat,append"]);
        WaitListening(client, q);
        int colon = eq.LastIndexOf(':');
        string ea = eq[..colon];
        int ep = int.Parse(eq[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Send("srv", 7101, ea, ep, "third-host");               // never contacted from Q
        Send("host4", 7103, ea, ep, "same-host-other-port");
        Send("host4", 7102, ea, ep, "same-endpoint");          // the flow's own peer (the check of the check)
        WaitFor(TimeSpan.FromSeconds(1), () => Received(got, "same-endpoint"));
        Thread.Sleep(200);
        TrackedProcess.Stop(TrackedProcess.PidFile(lab, client, "nc-cl"));

        var seen = new NatObservation(e1, e2, eq, Received(got, "same-endpoint"), Received(got, "same-host-other-port"), Received(got, "third-host"));
        var conntrack = new List<(string, string)>();
        for (string? hop = nat; hop is not null; hop = lab.ReadNodeFile(hop, "nat"))   // every NAT on the way out
        {
            var entries = LabContext.RunIn(hop, Short, "conntrack", "-L", "-p", "udp").Stdout.Split('\n')
                .Where(l => l.Contains($"port={p} ", StringComparison.Ordinal) || l.Contains($"port={q} ", StringComparison.Ordinal));
            conntrack.Add((hop, string.Join('\n', entries)));
        }
        return NatVerdict.Report(client, nat, kind, p, q, seen, conntrack);
    }

    /// <summary>Two consecutive ports nothing in the client's namespace uses.</summary>
    private static (int, int) FreePorts(string client)
    {
        for (int i = 0; ; i++)
        {
            int p = 40000 + Random.Shared.Next(10000);
            var used = LabContext.RunIn(client, Short, "ss", "-Huan", $"( sport = :{p} or sport = :{p + 1} )");
            if (used.Stdout.Trim().Length == 0 || i >= 20) return (p, p + 1);
        }
    }

    /// <summary>A receiver that appends "peeraddr:peerport payload" per datagram.</summary>
    private static void Recorder(LabContext lab, string node, string name, int port, string file) =>
        TrackedProcess.Start(lab, node, name, ["socat", "-u", $"UDP4-RECVFROM:{port},reuseaddr,fork",
            $"SYSTEM:read -r l; echo \"$SOCAT_PEERADDR:$SOCAT_PEERPORT $l\" >>{file}"]);

    private static void Send(string node, int sourcePort, string destination, int port, string payload) =>
        LabShell.Run("ip", ["netns", "exec", LabContext.Namespace(node), "timeout", "3", "socat", "-u", "-",
            $"UDP4-SENDTO:{destination}:{port},sourceport={sourcePort},reuseaddr"], Short, stdin: payload + "\n");

    private static void WaitListening(string node, int port) =>
        WaitFor(TimeSpan.FromSeconds(2.5), () => LabContext.RunIn(node, Short, "ss", "-Hlun", $"sport = :{port}").Stdout.Trim().Length > 0);

    private static void WaitFor(TimeSpan timeout, Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < timeout) Thread.Sleep(50);
    }

    private static string? FirstSource(string file) =>
        File.Exists(file) && File.ReadLines(file).FirstOrDefault() is { Length: > 0 } line ? line.Split(' ')[0] : null;

    private static bool Received(string file, string payload) =>
        File.Exists(file) && File.ReadAllText(file).Contains(payload, StringComparison.Ordinal);
}
