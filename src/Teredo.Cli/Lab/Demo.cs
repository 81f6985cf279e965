using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Teredo.Addressing;
using Teredo.Net;

namespace Teredo.Cli.Lab;

/// <summary>
/// The lab demo: lab.sh builds the topology 'demo'; the daemons start through the launcher table, the
/// independent groups at the same time (each group's output kept and printed in a fixed order); the
/// Teredo part pings both ways, the P2P part fetches an IPv4-only page from the IPv6-only LAN through our
/// relay and then Miredo's; <see cref="DemoReport"/> prints the summary. Whatever happens, the lab is
/// torn down at the end (lab.sh down), also on SIGINT/SIGTERM.
/// </summary>
public sealed class Demo(LabContext lab, LabPlan plan)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(25);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string, long)> _steps = [];
    private readonly Dictionary<string, long> _starts = [];
    private string? _step;
    private long _stepStart;
    private TextWriter Out => lab.Log;
    private bool Ours => lab.TeredoBin is not null;

    public static int Run(LabContext lab)
    {
        var demo = new Demo(lab, LabPlan.Load(lab));
        using var cancel = new CancellationTokenSource();
        void Stop(PosixSignalContext c) { c.Cancel = true; cancel.Cancel(); }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        try
        {
            var work = Task.Run(demo.Show, CancellationToken.None);
            // an interrupted demo stops waiting at once; its teardown kills what the steps were waiting for
            Task.WaitAny([work], cancel.Token);
            work.GetAwaiter().GetResult();
            return 0;
        }
        catch (OperationCanceledException) { lab.Log.WriteLine("demo: interrupted"); return 130; }
        catch (LabException e) { lab.Log.WriteLine("demo: " + e.Message); return 1; }
        finally { demo.TearDown(); }
    }

    private long Ms => _clock.ElapsedMilliseconds;
    private string At => $"[at {DemoReport.Clock(Ms)}]";

    private void Step(string? name)
    {
        if (_step is not null) _steps.Add((_step, Ms - _stepStart));
        (_step, _stepStart) = (name, Ms);
    }

    private void Show()
    {
        Step("build topology (waves in parallel)");
        Out.WriteLine("== building topology 'demo'");
        Script("up", "demo");
        Step("start the daemons (in parallel) until ready");
        string td = CoordinatorAddress.Dynamic(Ipv4Address.Parse(plan["COORD_V4"]), Ipv4Address.Parse(plan["HOST4_V4"])).ToIpv6().ToString();
        if (Ours)
        {
            Out.WriteLine($"== starting at once: teredo server then the Miredo client (natprc) and our client (natsym); teredo relay; coordinator and v6peer, then the IPv4 peer (natsym) {At}");
            Together(("teredo", TeredoSide), ("relay", g => Launch(g, "teredo-relay", "relay")), ("p2p", P2pSide), ("decode-td", g => Decode(g, td, plain: true)));
        }
        else
        {
            Out.WriteLine($"== starting Miredo peers (TEREDO_BIN not set: Miredo in every role) {At}");
            Together(("teredo", MiredoSide), ("relay", g => Launch(g, "miredo-relay", "relay")));
        }

        Step("Teredo part: pings both ways, both clients");
        var (qualMs, address) = _qualified["clprc"];
        Out.WriteLine($"== the client behind natprc (Miredo, unmodified), its process start included {At}");
        Out.WriteLine($"   qualified in {DemoReport.Seconds(qualMs)}: {address}");
        Out.Write(_decoded.GetValueOrDefault("clprc", ""));
        bool cone = DemoReport.Cone(address);
        string natDesc = plan["NAT_DESC_portrestricted"];
        Out.WriteLine($"== NAT: natprc is {natDesc}, WAN 198.18.2.1; address cone flag = {(cone ? 1 : 0)} ({(cone ? "cone" : "not cone")})");
        string relayKind = Ours ? "teredo relay (ours)" : "Miredo relay";
        Out.WriteLine($"== ping host6 ({plan["HOST6_V6"]}) from clprc through the {relayKind} {At}");
        var c0 = RelayCounters();
        var s1 = Ping("clprc", plan["HOST6_V6"], "clprc -> host6", 5);
        var c1 = RelayCounters();
        Out.WriteLine($"   relay teredo interface: {c1.Rx - c0.Rx} packets decapsulated (rx), {c1.Tx - c0.Tx} encapsulated (tx)");
        Out.WriteLine($"== ping clprc ({address}) from host6");
        var s2 = Ping("host6", address, "host6 -> clprc", 5);
        var c2 = RelayCounters();
        Out.WriteLine($"   relay teredo interface: {c2.Rx - c1.Rx} packets decapsulated (rx), {c2.Tx - c1.Tx} encapsulated (tx)");

        OurClientResult? ours = null;
        var fetches = new List<P2pFetch>();
        string? p2pAddresses = null;
        if (Ours)
        {
            var (q2, address2) = _qualified["clsym"];
            Out.WriteLine($"== our client (teredo client) behind natsym, a symmetric NAT, its process start included {At}");
            Out.WriteLine($"   qualified in {DemoReport.Seconds(q2)}: {address2}");
            Out.WriteLine($"   teredo status says: NAT type {_natClsym}");
            ours = new OurClientResult(address2, q2, _natClsym,
                Ping("clsym", plan["HOST6_V6"], "clsym -> host6", 5), Ping("host6", address2, "host6 -> clsym", 5));

            Out.WriteLine($"== P2P NAT64 network: coordinator on coord, IPv4 peer on clsym (behind natsym, symmetric) {At}");
            Out.WriteLine($"   T(D) = {td}; teredo decode says:");
            string decodeTd = _decoded.GetValueOrDefault("td", "");
            int plan0 = decodeTd.IndexOf("coordinator plan", StringComparison.Ordinal);
            if (plan0 >= 0)
            {
                int line0 = decodeTd.LastIndexOf('\n', plan0) + 1;
                foreach (string line in decodeTd[line0..].TrimEnd().Split('\n')) Out.WriteLine("     " + line);
            }
            Step("P2P through our relay (cold flow)");
            Out.WriteLine($"== through our relay (teredo relay) {At}");
            fetches.Add(Fetch("our relay"));
            Step("P2P through Miredo's relay (start + cold flow)");
            Out.WriteLine($"== through Miredo's relay (unmodified) {At}");
            var buffer = new StringWriter();
            DaemonLauncher.Launch(lab.WithLog(buffer), plan, Launchers.Table["miredo-relay"], ["relay"]);
            Out.Write(Indent(buffer.ToString()));
            fetches.Add(Fetch("Miredo relay"));
            p2pAddresses = $"{"addresses",-13} {DemoReport.P2pFrom} -> N::D {_nd} -> T(D) {td}";
        }
        Step(null);
        Out.Write(DemoReport.Summary(new DemoSummary(Ours ? "teredo server (ours)" : "miredo-server", relayKind, qualMs, address, natDesc,
            s1, s2, ours, p2pAddresses, fetches, _steps, Ms)));
    }

    // ---- the groups started together ---------------------------------------------------------------

    private readonly Dictionary<string, (long Ms, string Address)> _qualified = [];
    private readonly Dictionary<string, string> _decoded = [];
    private string _natClsym = "unknown";
    private string _nd = "";

    /// <summary>Runs the groups at once and prints each one's output in the order given; a failed group ends the demo.</summary>
    private void Together(params (string Name, Action<LabContext> Work)[] groups)
    {
        var runs = groups.Select(g =>
        {
            var buffer = new StringWriter();
            return (g.Name, buffer, Task: Task.Run(() => g.Work(lab.WithLog(TextWriter.Synchronized(buffer)))));
        }).ToList();
        foreach (var (name, buffer, task) in runs)
        {
            Exception? failure = null;
            try { task.GetAwaiter().GetResult(); } catch (Exception e) when (e is LabException or InvalidOperationException or IOException) { failure = e; }
            Out.Write(Indent(buffer.ToString()));
            if (failure is not null) throw new LabException($"{name} failed: {failure.Message}");
        }
    }

    private static string Indent(string text) => text.Replace("lab: ", "   ", StringComparison.Ordinal);

    private void Launch(LabContext group, string kind, params string[] args) => DaemonLauncher.Launch(group, plan, Launchers.Table[kind], args);

    private void TeredoSide(LabContext g)
    {
        Launch(g, "teredo-server", "srv");
        lock (_starts) _starts["clprc"] = Ms;
        Launch(g, "miredo-client", "clprc");
        lock (_starts) _starts["clsym"] = Ms;
        Launch(g, "teredo-client", "clsym");
        Qualify(g, "clprc", "Miredo client behind natprc");
        Decode(g, _qualified["clprc"].Address, plain: false, key: "clprc");
        Qualify(g, "clsym", "teredo client behind natsym");
        // the symmetric NAT is known only once both server addresses have answered
        string sock = g.NodeFile("clsym", "teredo-client.sock");
        JsonElement? status = null;
        for (int i = 0; i < 50; i++)
        {
            status = StatusProbe.Read(sock);
            if (status is { } s && s.TryGetProperty("natTypeFinal", out var f) && f.ValueKind == JsonValueKind.True) break;
            Thread.Sleep(100);
        }
        if (status is { } st) _natClsym = $"{StatusProbe.String(st, "natType")} ({StatusProbe.String(st, "natDetection")})";
    }

    private void MiredoSide(LabContext g)
    {
        Launch(g, "miredo-server", "srv");
        lock (_starts) _starts["clprc"] = Ms;
        Launch(g, "miredo-client", "clprc");
        Qualify(g, "clprc", "Miredo client behind natprc");
        Decode(g, _qualified["clprc"].Address, plain: false, key: "clprc");
    }

    private void Qualify(LabContext g, string node, string label)
    {
        string address = DaemonLauncher.WaitQualified(g, node, TimeSpan.FromSeconds(30))
            ?? throw new LabException($"{node} not qualified after 30 s: {LabShell.Tail(g.NodeFile(node, "miredo-client.log"), 5)}");
        long start;
        lock (_starts) start = _starts[node];
        lock (_qualified) _qualified[node] = (Ms - start, address);
        g.Log.WriteLine($"   {label} qualified: {address}");
    }

    /// <summary>
    /// The address decoded: T(D) by this CLI (kept for the P2P part), a client's address by TEREDO_DECODE
    /// (a shell command line given the address; the lab tests hook it).
    /// </summary>
    private void Decode(LabContext g, string address, bool plain, string key = "td")
    {
        string text;
        if (plain) text = LabShell.Run(g.RequireTeredo()[0], [.. g.RequireTeredo()[1..], "decode", address], Short).Stdout;
        else if (Environment.GetEnvironmentVariable("TEREDO_DECODE") is { Length: > 0 } decoder)
        {
            var r = LabShell.Run("sh", ["-c", decoder + " \"$1\"", "teredo-decode", address], Short);
            string body = r.Stdout + r.Stderr;
            text = $"== decoding with: {decoder} {address}\n" + (r.Ok ? string.Concat(body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "   " + l + "\n")) : "   (decoder failed)\n");
        }
        else text = "== TEREDO_DECODE not set: skipping decode\n";
        lock (_decoded) _decoded[key] = text;
    }

    /// <summary>The coordinator and the IPv6 peer at once, then the IPv4 peer behind natsym (it needs the pin).</summary>
    private void P2pSide(LabContext g)
    {
        var v6 = new StringWriter();
        var v6peer = Task.Run(() => Launch(g.WithLog(v6), "v6peer", "v6peer"));
        Launch(g, "coordinator", "coord");
        Launch(g, "v4peer", "clsym");
        v6peer.GetAwaiter().GetResult();
        g.Log.Write(v6.ToString());
        string name = plan["P2P_NAME"];
        _nd = LabContext.RunIn("v6c", Short, "dig", "+short", "+time=2", "+tries=1", "AAAA", name).Stdout.Split('\n')[0].Trim();
        g.Log.WriteLine($"   {name}: A {plan["HOST4_V4"]} only; DNS64 on v6peer gives v6c N::D = {_nd}; v6peer sends it to T(D)");
    }

    // ---- measurements ----------------------------------------------------------------------------------

    private PingStats Ping(string from, string to, string label, int count)
    {
        var r = LabContext.RunIn(from, Short, "timeout", "20", "ping", "-6", "-n", "-c", count.ToString(CultureInfo.InvariantCulture), "-i", "0.1", "-W", "2", to);
        foreach (string line in (r.Stdout + r.Stderr).Split('\n'))
            if (line.Contains("packet loss", StringComparison.Ordinal) || line.StartsWith("rtt", StringComparison.Ordinal))
                Out.WriteLine($"   {label}: {line}");
        return PingStats.Parse(r.Stdout);
    }

    private (long Rx, long Tx) RelayCounters()
    {
        try
        {
            using var doc = JsonDocument.Parse(LabContext.Ip("relay", "-s", "-j", "link", "show", "teredo").Stdout);
            var stats = doc.RootElement[0].GetProperty("stats64");
            return (stats.GetProperty("rx").GetProperty("packets").GetInt64(), stats.GetProperty("tx").GetProperty("packets").GetInt64());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or IndexOutOfRangeException or InvalidOperationException) { return (0, 0); }
    }

    /// <summary>One cold page and 3 pings from v6c. The relay has never seen T(D): the TCP SYN is the flow's first packet.</summary>
    private P2pFetch Fetch(string relay)
    {
        string url = $"http://{plan["P2P_NAME"]}/", body = Path.Combine(lab.State, ".demo-page");
        var c = LabContext.RunIn(DemoReport.P2pFrom, Short, "timeout", "20", "curl", "-sS", "-o", body, "-w",
            "%{http_code} %{time_namelookup} %{time_connect} %{time_total}", url);
        var p = LabContext.RunIn(DemoReport.P2pFrom, Short, "timeout", "20", "ping", "-6", "-n", "-c", "3", "-i", "0.1", "-W", "2", plan["P2P_NAME"]);
        var fetch = P2pFetch.FromCurl(relay, c.Stdout, PingStats.Parse(p.Stdout), Owner());
        Out.WriteLine($"   {DemoReport.P2pFrom}: curl {url} -> HTTP {fetch.HttpCode} in {fetch.Page}, first packet (TCP SYN -> SYN-ACK) {fetch.FirstPacketMs} ms, DNS {fetch.DnsSeconds?.ToString(CultureInfo.InvariantCulture) ?? "-"} s (cold flow: the relay's bubble exchange included)");
        Out.WriteLine("   page: " + (File.Exists(body) ? File.ReadAllText(body).TrimEnd() : c.Stdout + c.Stderr));
        foreach (string line in p.Stdout.Split('\n'))
            if (line.Contains("bytes from", StringComparison.Ordinal) || line.Contains("packet loss", StringComparison.Ordinal)) Out.WriteLine("   " + line);
        Out.WriteLine($"   owning IPv4 peer (coordinator's status): {fetch.Owner ?? "none"}");
        return fetch;
    }

    /// <summary>The IPv4 peer holding host4's lease, from the coordinator's status: "LOCAL seen from REMOTE".</summary>
    private string? Owner()
    {
        if (StatusProbe.Read(lab.NodeFile("coord", "coordinator.sock")) is not { } s
            || !s.TryGetProperty("leases", out var leases) || !s.TryGetProperty("peers", out var peers)) return null;
        foreach (var lease in leases.EnumerateArray())
        {
            if (StatusProbe.String(lease, "destination") != plan["HOST4_V4"]) continue;
            string? owner = StatusProbe.String(lease, "owner");
            foreach (var peer in peers.EnumerateArray())
                if (StatusProbe.String(peer, "identity") == owner)
                    return $"{StatusProbe.String(peer, "localAddress")} seen from {StatusProbe.String(peer, "remote")}";
        }
        return null;
    }

    private void TearDown()
    {
        long t = Ms;
        Out.WriteLine();
        Out.WriteLine("== tearing down");
        var down = LabShell.Run("bash", [lab.Script, "down"], TimeSpan.FromSeconds(60));
        Out.Write(down.Stderr);
        int left = LabShell.Run("ip", ["netns", "list"], TimeSpan.FromSeconds(10)).Stdout.Split('\n')
            .Count(l => l.StartsWith(LabContext.NamespacePrefix, StringComparison.Ordinal));
        Out.WriteLine($"lab: namespaces left: {left}; torn down in {DemoReport.Seconds(Ms - t)}");
        Out.WriteLine(DemoReport.Row("demo wall time", DemoReport.Seconds(Ms)));
        Out.Flush();
    }

    /// <summary>lab.sh for the topology; its "lab: " lines are shown indented.</summary>
    private void Script(params string[] args)
    {
        var r = LabShell.Run("bash", [lab.Script, .. args], TimeSpan.FromSeconds(120));
        Out.Write(Indent(r.Stdout + r.Stderr));
        if (!r.Ok) throw new LabException($"lab.sh {string.Join(' ', args)} failed (exit {r.ExitCode})");
    }
}
