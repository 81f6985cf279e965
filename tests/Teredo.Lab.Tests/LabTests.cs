using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// The namespace lab against real Miredo peers. One topology for the collection (LabFixture); the tests
/// run one after another in the order given by [Priority]: NAT behaviour, Miredo, tooling, the demo, and
/// last the teardown checks.
/// </summary>
[Collection(LabCollection.Name)]
[TestCaseOrderer(PriorityOrderer.TypeName, PriorityOrderer.AssemblyName)]
public sealed partial class LabTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;

    private CommandResult Run(TimeSpan timeout, params string[] args)
    {
        var r = Lab.Run(timeout, args);
        output.WriteLine($"$ lab.sh {string.Join(' ', args)}  -> exit {r.ExitCode}");
        if (r.All.Length > 0)
        {
            output.WriteLine(r.All.TrimEnd());
        }

        return r;
    }

    private CommandResult MustRun(TimeSpan timeout, params string[] args)
    {
        var r = Run(timeout, args);
        Assert.True(r.ExitCode == 0, $"lab.sh {string.Join(' ', args)} failed: {r}");
        return r;
    }

    private static string[] LabNamespaces()
    {
        var r = Lab.Exec("ip", ["netns", "list"], Short);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0])
            .Where(n => n.StartsWith("tlab-", StringComparison.Ordinal))
            .ToArray();
    }

    // ---------------------------------------------------------------------------------------------
    // 1. NAT kinds, probed with UDP (socat) from the client and seen at the receivers / in conntrack
    // ---------------------------------------------------------------------------------------------
    [SkippableTheory]
    [Priority(10)]
    [InlineData("clfc", "full-cone", "198.18.1.1")]
    [InlineData("clprc", "port-restricted-cone", "198.18.2.1")]
    [InlineData("clsym", "symmetric", "198.18.3.1")]
    [InlineData("cldbl", "port-restricted-cone", "198.18.4.1")]
    public void NatBehavesAsConfigured(string client, string expected, string wan)
    {
        lab.EnsureUp();
        var r = MustRun(Long, "nat-check", client);
        var kv = Lab.KeyValues(r.Stdout);

        Assert.Equal(expected, kv["verdict"]);
        // the flow's own peer always gets through: the listener and the NAT work
        Assert.Equal("yes", kv["same_endpoint_reached"]);
        Assert.StartsWith(wan + ":", kv["mapped_to_host4"], StringComparison.Ordinal);
        Assert.StartsWith(wan + ":", kv["mapped_to_srv"], StringComparison.Ordinal);

        switch (expected)
        {
            case "full-cone":
                // a third host (srv) reaches the mapped port after the client sent one packet to host4
                Assert.Equal("yes", kv["third_host_reached"]);
                Assert.Equal("independent", kv["mapping"]);
                Assert.Equal(kv["mapped_to_host4"], kv["mapped_to_srv"]);
                break;
            case "port-restricted-cone":
                Assert.Equal("no", kv["third_host_reached"]);
                Assert.Equal("no", kv["same_host_other_port_reached"]);
                Assert.Equal("independent", kv["mapping"]);
                Assert.Equal(kv["mapped_to_host4"], kv["mapped_to_srv"]);
                break;
            case "symmetric":
                Assert.Equal("no", kv["third_host_reached"]);
                Assert.Equal("dependent", kv["mapping"]);
                Assert.NotEqual(kv["mapped_to_host4"], kv["mapped_to_srv"]);
                // and the NAT's own table agrees: one local port, two external ports
                var localPort = kv["local_port"];
                var external = ConntrackLine().Matches(r.Stdout)
                    .Where(m => m.Groups["osport"].Value == localPort)
                    .Select(m => m.Groups["rdport"].Value)
                    .Distinct()
                    .ToArray();
                Assert.True(external.Length >= 2, "conntrack shows one external port only:\n" + r.Stdout);
                break;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // 2. Miredo client behind the port-restricted NAT, miredo-server, miredo relay, native host6
    // ---------------------------------------------------------------------------------------------
    [SkippableFact]
    [Priority(20)]
    public void MiredoClientQualifiesAndTalksToNativeIpv6ThroughTheRelay()
    {
        lab.EnsureUp();
        try
        {
            MustRun(Short, "miredo-server", "srv");
            MustRun(Short, "miredo-relay", "relay");
            MustRun(Short, "miredo-client", "clprc");
            var address = MustRun(Long, "wait-qualified", "clprc", "30").Stdout.Trim();
            Assert.StartsWith("2001:0:", address, StringComparison.Ordinal);

            var t = TeredoAddress.Parse(address);
            output.WriteLine($"{address}: {t}");
            Assert.Equal(IPAddress.Parse("198.18.0.10"), t.Server);
            Assert.Equal(IPAddress.Parse("198.18.2.1"), t.MappedAddress);   // natprc's WAN address
            // the mapped port in the address is the NAT's external port of the flow to the server
            var ct = Lab.InNode("natprc", Short, "conntrack", "-L", "-p", "udp", "--orig-port-dst", "3544");
            output.WriteLine(ct.All);
            Assert.Contains($"dst=198.18.2.1 sport=3544 dport={t.MappedPort} ", ct.Stdout, StringComparison.Ordinal);

            // host6 -> client: routed 2001::/32 via the relay, which encapsulates towards the NAT
            var before = RelayTeredoCounters();
            var ping6 = Lab.InNode("host6", Long, "ping", "-6", "-n", "-c", "5", "-i", "0.2", "-W", "2", address);
            output.WriteLine(ping6.All);
            var got = Received(ping6.Stdout);
            Assert.True(got >= 3, $"host6 -> {address}: only {got}/5 replies\n{ping6}");
            var after = RelayTeredoCounters();
            Assert.True(after.Tx - before.Tx >= got, $"the relay encapsulated {after.Tx - before.Tx} packets for {got} replies");
            Assert.True(after.Rx - before.Rx >= got, $"the relay decapsulated {after.Rx - before.Rx} packets for {got} replies");

            // client -> host6
            var ping4 = Lab.InNode("clprc", Long, "ping", "-6", "-n", "-c", "5", "-i", "0.2", "-W", "2", "2001:db8:1::100");
            output.WriteLine(ping4.All);
            got = Received(ping4.Stdout);
            Assert.True(got >= 3, $"clprc -> host6: only {got}/5 replies\n{ping4}");
        }
        finally
        {
            foreach (var node in new[] { "clprc", "relay", "srv" })
            {
                Run(Short, "miredo-stop", node);
            }
        }
    }

    private static (long Rx, long Tx) RelayTeredoCounters()
    {
        var r = Lab.InNode("relay", Short, "ip", "-s", "-j", "link", "show", "teredo");
        Assert.True(r.ExitCode == 0, "no teredo interface on the relay: " + r);
        using var doc = JsonDocument.Parse(r.Stdout);
        var stats = doc.RootElement[0].GetProperty("stats64");
        return (stats.GetProperty("rx").GetProperty("packets").GetInt64(),
                stats.GetProperty("tx").GetProperty("packets").GetInt64());
    }

    private static int Received(string pingOutput)
    {
        var m = ReceivedLine().Match(pingOutput);
        return m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    // ---------------------------------------------------------------------------------------------
    // lab tooling: list, nat-flush, impair
    // ---------------------------------------------------------------------------------------------
    [SkippableFact]
    [Priority(30)]
    public void ListFlushAndImpairWork()
    {
        lab.EnsureUp();
        var list = MustRun(Short, "list").Stdout;
        foreach (var expected in new[] { "topology basic", "198.18.0.10/15", "198.18.0.11/15", "2001:db8:1::10/64",
                     "198.18.0.20/15", "2001:db8:1::100/64", "198.18.0.100/15", "clprc", "natdbl1", "cldbl" })
        {
            Assert.Contains(expected, list, StringComparison.Ordinal);
        }

        // traffic through natprc, then flush its table
        Assert.Equal(0, Lab.InNode("clprc", Short, "ping", "-c", "1", "-W", "2", "198.18.0.10").ExitCode);
        MustRun(Short, "nat-flush", "natprc");
        var ct = Lab.InNode("natprc", Short, "conntrack", "-L");
        Assert.Contains("0 flow entries", ct.All, StringComparison.Ordinal);

        // 100 % loss on natprc's WAN, then clear
        MustRun(Short, "impair", "natprc", "wan0", "loss", "100");
        Assert.NotEqual(0, Lab.InNode("clprc", Short, "ping", "-c", "2", "-i", "0.2", "-W", "1", "198.18.0.10").ExitCode);
        MustRun(Short, "impair", "natprc", "wan0", "clear");
        Assert.Equal(0, Lab.InNode("clprc", Short, "ping", "-c", "1", "-W", "2", "198.18.0.10").ExitCode);

        // delay needs sch_netem: applied (0) or refused with a clear message (4), never half-applied
        var delay = Run(Short, "impair", "natprc", "wan0", "delay", "20");
        Assert.True(delay.ExitCode == 0 || (delay.ExitCode == 4 && delay.Stderr.Contains("netem", StringComparison.Ordinal)), delay.ToString());
        MustRun(Short, "impair", "natprc", "wan0", "clear");
    }

    // ---------------------------------------------------------------------------------------------
    // the demo (it rebuilds its own topology and always tears everything down)
    // ---------------------------------------------------------------------------------------------
    [SkippableFact]
    [Priority(80)]
    public void DemoRunsAndTearsDown()
    {
        lab.Require();
        var env = new Dictionary<string, string?> { ["TEREDO_DECODE"] = "echo decode-hook:" };
        var r = Lab.RunWithEnv(Long, env, "demo");
        lab.IsUp = false;   // the demo sweeps everything, the fixture's topology included
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, "demo failed: " + r);
        // (its wall time is measured, not asserted: the demo prints where its time went)
        Assert.Matches(@"demo wall time\s+\d+\.\d{3} s", r.Stdout);
        Assert.Matches(@"qualified in \d+\.\d{3} s: 2001:0:", r.Stdout);
        Assert.Matches(@"decode-hook: 2001:0:", r.Stdout);
        Assert.Matches(@"clprc -> host6 \(5 pings\)\s+loss [0-9]{1,2}%", r.Stdout);
        Assert.Matches(@"host6 -> clprc \(5 pings\)\s+loss [0-9]{1,2}%", r.Stdout);
        Assert.Empty(LabNamespaces());
    }

    // ---------------------------------------------------------------------------------------------
    // 3. teardown: nothing left, down is idempotent, up sweeps what a killed run left behind
    // ---------------------------------------------------------------------------------------------
    [SkippableFact]
    [Priority(90)]
    public void DownLeavesNothingAndUpSweepsStaleState()
    {
        lab.Require();
        MustRun(Long, "down");
        lab.IsUp = false;
        Assert.Empty(LabNamespaces());
        Assert.False(Directory.Exists("/run/tlab"), "/run/tlab survived down");
        MustRun(Long, "down");            // idempotent
        MustRun(Long, "down", "basic");   // not running: still fine

        // what a killed run leaves: a namespace with a process in it
        var stale = Lab.Exec("bash", ["-c",
            "ip netns add tlab-stale && (setsid ip netns exec tlab-stale sleep 300 </dev/null >/dev/null 2>&1 & echo $!)"], Short);
        Assert.True(stale.ExitCode == 0, stale.ToString());
        var pid = int.Parse(stale.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            MustRun(Long, "up", "teredo");
            Assert.DoesNotContain("tlab-stale", LabNamespaces());
            Assert.False(IsRunning(pid), "the stale namespace's process survived up");
            MustRun(Long, "down");
            Assert.Empty(LabNamespaces());
        }
        finally
        {
            if (IsRunning(pid))
            {
                Lab.Exec("kill", ["-9", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], Short);
            }

            Lab.Run(Long, "down");
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    [SkippableFact]
    [Priority(95)]
    public void RefusesWithExit3WhenNotRoot()
    {
        Skip.If(Lab.Script is null, "lab/lab.sh not found");
        Skip.If(!OperatingSystem.IsLinux(), "Linux only");
        CommandResult r;
        if (Environment.IsPrivilegedProcess)
        {
            Skip.If(!Lab.OnPath("setpriv"), "setpriv (util-linux) is needed to drop root");
            // a world-readable copy, so that nobody can read it whatever the checkout's permissions
            var dir = Path.Combine(Path.GetTempPath(), "tlab-test-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.SetUnixFileMode(dir, (UnixFileMode)0x1ED);   // 0755
                var copy = Path.Combine(dir, "lab.sh");
                File.Copy(Lab.Script!, copy);
                File.SetUnixFileMode(copy, (UnixFileMode)0x1ED);
                r = Lab.Exec("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", copy, "list"], Short);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        else
        {
            r = Lab.Run(Short, "list");
        }

        output.WriteLine(r.ToString());
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("the lab needs root", r.Stderr.Trim());
    }

    [GeneratedRegex(@"src=\S+ dst=\S+ sport=(?<osport>\d+) dport=\d+ (?:\[UNREPLIED\] )?src=\S+ dst=\S+ sport=\d+ dport=(?<rdport>\d+)")]
    private static partial Regex ConntrackLine();

    [GeneratedRegex(@"(\d+) received")]
    private static partial Regex ReceivedLine();
}
