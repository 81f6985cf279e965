using System.Diagnostics;

namespace Teredo.Cli.Lab;

/// <summary>
/// iperf FROM TO_ADDR [tcp|udp] [SECONDS]: iperf3 over the requested path, then over a plain, no-tunnel
/// path from the same node (TLAB_PLAIN_ADDR forces its target, TLAB_NO_PLAIN skips it), and the ratio.
/// The iperf3 server is a one-off tracked process in the node that holds the target address.
/// </summary>
public static class Iperf
{
    private const string Port = "5201";

    public static string Run(LabContext lab, LabPlan plan, IReadOnlyList<string> args)
    {
        if (args.Count is < 2 or > 4) throw new LabException("usage: lab.sh iperf FROM TO_ADDR [tcp|udp] [SECONDS]");
        string from = LabContext.Node(args[0]), address = args[1], proto = args.Count > 2 ? args[2] : "tcp";
        if (proto is not ("tcp" or "udp")) throw new LabException("iperf: protocol must be tcp or udp");
        if (!int.TryParse(args.Count > 3 ? args[3] : "5", out int seconds) || seconds is < 1 or > 60) throw new LabException("iperf: seconds must be 1..60");
        if (!LabContext.NodeExists(from)) throw new LabException("no such node: " + from);
        string to = NodeWithAddress(address) ?? throw new LabException($"iperf: no lab node holds {address}");
        string? plain = Environment.GetEnvironmentVariable("TLAB_NO_PLAIN") is { Length: > 0 } ? null
            : Environment.GetEnvironmentVariable("TLAB_PLAIN_ADDR") is { Length: > 0 } forced ? forced
            : PlainTarget(lab, plan, from, to, address);
        bool udp = proto == "udp";
        var o = new System.Text.StringBuilder();
        o.AppendLine($"iperf3 {proto} {seconds}s: {from} -> {address} ({to}, via {RouteDevice(from, address)})");
        var requested = Measure(lab, from, address, udp, seconds) ?? throw new LabException("iperf over the requested path failed");
        IperfFigures? plainFigures = null;
        if (plain is not null)
        {
            o.AppendLine($"plain path: {from} -> {plain} ({NodeWithAddress(plain)}, via {RouteDevice(from, plain)})");
            plainFigures = Measure(lab, from, plain, udp, seconds) ?? throw new LabException("iperf over the plain path failed");
        }
        else o.AppendLine($"plain path: none found from {from} (set TLAB_PLAIN_ADDR)");
        return o.Append(IperfReport.Table(udp, requested, plainFigures)).ToString();
    }

    private static IperfFigures? Measure(LabContext lab, string from, string address, bool udp, int seconds)
    {
        string to = NodeWithAddress(address) ?? throw new LabException($"iperf: no lab node holds {address}");
        string pid = TrackedProcess.PidFile(lab, to, "iperf3-server");
        TrackedProcess.Stop(pid);
        TrackedProcess.Start(lab, to, "iperf3-server", ["iperf3", "-s", "-1", "-p", Port]);
        var clock = Stopwatch.StartNew();
        while (LabContext.RunIn(to, TimeSpan.FromSeconds(5), "ss", "-Hltn", "sport = :" + Port).Stdout.Trim().Length == 0 && clock.ElapsedMilliseconds < 5000)
            Thread.Sleep(100);
        string[] client = ["iperf3", "-c", address, "-p", Port, "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-J", "--connect-timeout", "3000"];
        if (udp)
            client = [.. client, "-u", "-b", Environment.GetEnvironmentVariable("TLAB_UDP_RATE") ?? "0", "-l", Environment.GetEnvironmentVariable("TLAB_UDP_LEN") ?? "1200"];
        var r = LabContext.RunIn(from, TimeSpan.FromSeconds(seconds + 25), ["timeout", "-k", "2", (seconds + 20).ToString(System.Globalization.CultureInfo.InvariantCulture), .. client]);
        TrackedProcess.Stop(pid);
        // iperf3 -J may exit 0 with an "error" member and no totals (nothing got through)
        string? error = r.Ok ? IperfFigures.Error(r.Stdout) : IperfFigures.Error(r.Stdout) ?? r.Stderr.Trim();
        if (error is null)
        {
            try { return IperfFigures.FromJson(r.Stdout, udp); }
            catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException) { error = "no totals in its JSON: " + e.Message; }
        }
        lab.Log.WriteLine("iperf3 failed: " + error);
        return null;
    }

    /// <summary>The lab node whose namespace holds ADDRESS, or null.</summary>
    public static string? NodeWithAddress(string address)
    {
        foreach (string line in LabShell.Run("ip", ["netns", "list"], TimeSpan.FromSeconds(5)).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string ns = line.Split(' ')[0];
            if (!ns.StartsWith(LabContext.NamespacePrefix, StringComparison.Ordinal)) continue;
            if (Addresses(LabContext.Node(ns), global: false).Contains(address)) return LabContext.Node(ns);
        }
        return null;
    }

    private static List<string> Addresses(string node, bool global)
    {
        var found = new List<string>();
        var r = LabContext.Ip(node, global ? ["-o", "addr", "show", "scope", "global"] : ["-o", "addr", "show"]);
        foreach (string line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int i = Array.FindIndex(words, w => w is "inet" or "inet6");
            if (i >= 0 && i + 1 < words.Length) found.Add(words[i + 1].Split('/')[0]);
        }
        return found;
    }

    public static string RouteDevice(string node, string address)
    {
        var words = LabContext.Ip(node, "route", "get", address).Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        int i = Array.IndexOf(words, "dev");
        return i >= 0 && i + 1 < words.Length ? words[i + 1] : "";
    }

    /// <summary>
    /// An address FROM reaches without a Teredo tunnel: TO's other addresses, else the relay's native IPv6
    /// or IPv4, host4, srv; held by another node, routed off the tunnel and answering one ping.
    /// </summary>
    private static string? PlainTarget(LabContext lab, LabPlan plan, string from, string to, string address)
    {
        string tunnel = lab.ReadNodeFile(from, "teredo-ifname") ?? "teredo";
        var candidates = Addresses(to, global: true).Where(a => !a.StartsWith("2001:0:", StringComparison.Ordinal))
            .Concat([plan["RELAY_V6"], plan["RELAY_V4"], plan["HOST4_V4"], plan["SRV_V4A"]]);
        foreach (string c in candidates)
        {
            if (c == address || NodeWithAddress(c) is not { } holder || holder == from) continue;
            string dev = RouteDevice(from, c);
            if (dev.Length == 0 || dev.StartsWith("teredo", StringComparison.Ordinal) || dev == tunnel) continue;
            if (LabContext.RunIn(from, TimeSpan.FromSeconds(5), "ping", c.Contains(':') ? "-6" : "-4", "-c1", "-W1", c).Ok) return c;
        }
        return null;
    }
}
