using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 5's proof on real networks: `teredo client` qualifies against miredo-server and `teredo server`
/// behind the full-cone, port-restricted, symmetric and double NATs and names each NAT type; it reaches a
/// native IPv6 host through an unmodified Miredo relay and is reached from it (ping and TCP) behind the
/// port-restricted and the symmetric NAT; it and an unmodified Miredo client reach each other directly;
/// after the NAT's mappings are flushed it moves to its new address within one refresh interval; it
/// refuses to run where the host has native IPv6 (§5.5); it reaches every address of a P2P coordinator
/// (issue 16). One test times its qualification against
/// Miredo's client on the same topology.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ClientLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string Host6 = "2001:db8:1::100";
    private static readonly string[] Clients = ["clfc", "clprc", "clsym", "cldbl"];
    private readonly LabSession _lab = new(output);

    private static string Socket(string node) => $"/run/tlab/{node}/teredo-client.sock";

    /// <summary>Everything these tests start, so that other test classes find the lab as they expect it.</summary>
    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        foreach (var node in Clients)
        {
            Lab.Run(Short, "stop", node, "teredo-client");
            Lab.Run(Short, "stop", node, "miredo-client");
            Lab.Run(Short, "stop", node, "tcp-echo");
        }
        Lab.Run(Short, "stop", "host6", "teredo-client");
        Lab.Run(Short, "stop", "host6", "tcp-echo");
        Lab.Run(Short, "stop", "srv", "teredo-server");
        Lab.Run(Short, "stop", "srv", "miredo-server");
        Lab.Run(Short, "stop", "relay", "miredo-relay");
        P2PStandIn.Stop();
    }

    private CommandResult Run(TimeSpan timeout, params string[] args) => _lab.Run(timeout, args);

    private CommandResult MustRun(TimeSpan timeout, params string[] args) => _lab.MustRun(timeout, args);

    private void StartServer(string kind)
    {
        lab.EnsureUp();
        MustRun(Long, kind == "ours" ? "teredo-server" : "miredo-server", "srv");
    }

    private void StartMiredoRelay()
    {
        if (!File.Exists("/run/tlab/relay/miredo-relay.pid")) MustRun(Long, "miredo-relay", "relay");
    }

    /// <summary>Our client in <paramref name="node"/>, as a tracked lab process with its own control socket.</summary>
    private void StartClient(string node, params string[] options)
    {
        StopTunnel(node);
        MustRun(Short, ["start", node, "teredo-client", "--", LabSession.Teredo, "client", "--server", "198.18.0.10",
            "--control", Socket(node), .. options]);
    }

    /// <summary>Stops whichever client runs in <paramref name="node"/> and waits until its tunnel is gone.</summary>
    private void StopTunnel(string node)
    {
        Lab.Run(Short, "stop", node, "teredo-client");
        Lab.Run(Short, "miredo-stop", node, "client");
        var deadline = Stopwatch.StartNew();
        while (Lab.Exec("ip", ["-n", "tlab-" + node, "link", "show", "teredo"], Short).ExitCode == 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"the teredo interface in {node} outlived its daemon");
            Thread.Sleep(20);
        }
    }

    private string WaitQualified(string node) => MustRun(Long, "wait-qualified", node, "20").Stdout.Trim();

    private static JsonElement Status(string node) => LabSession.Status(Socket(node));

    /// <summary>Polls the status until the NAT type is final (the cone probe takes N × T = 12 s to time out).</summary>
    private JsonElement WaitForNatType(string node, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var status = Status(node);
            if (status.GetProperty("natTypeFinal").GetBoolean()) return status;
            Assert.True(deadline.Elapsed < timeout, $"{node}: NAT type still not known after {timeout.TotalSeconds} s: {status}");
            Thread.Sleep(250);
        }
    }

    private static string? Address(string node)
    {
        var r = Lab.Exec("ip", ["-n", "tlab-" + node, "-6", "-o", "addr", "show", "dev", "teredo", "scope", "global"], Short);
        foreach (var line in r.Stdout.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int i = Array.IndexOf(fields, "inet6");
            if (i >= 0 && i + 1 < fields.Length && fields[i + 1].StartsWith("2001:0:", StringComparison.Ordinal)) return fields[i + 1].Split('/')[0];
        }
        return null;
    }

    /// <summary>
    /// Issue 15: started as root with --user nobody, the client runs as nobody; only its events thread,
    /// which runs ip(8) for every address it acquires, keeps CAP_NET_ADMIN (capabilities are per thread),
    /// and the address it configures after the drop proves that thread can still use it.
    /// </summary>
    [SkippableFact]
    public void With_user_nobody_the_client_qualifies_and_only_its_events_thread_keeps_cap_net_admin()
    {
        lab.Require();
        StartServer("ours");
        StartClient("clprc", "--user", "nobody");
        string address = WaitQualified("clprc");
        string pid = File.ReadAllText("/run/tlab/clprc/teredo-client.pid").Split(' ')[0].Trim();
        string main = File.ReadAllText($"/proc/{pid}/status");
        string? events = null;
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == "teredo-client-e") events = File.ReadAllText(Path.Combine(task, "status"));
        }
        string log = File.ReadAllText("/run/tlab/clprc/teredo-client.log");
        output.WriteLine($"qualified as {address}; main thread:\n{main}\nevents thread:\n{events}\n{log}");
        StopTunnel("clprc");

        Assert.StartsWith("2001:0:", address);
        Assert.Matches(@"(?m)^Uid:\s+65534\s+65534\s+65534\s+65534$", main);
        Assert.Contains("CapEff:\t0000000000000000", main);
        Assert.NotNull(events);
        Assert.Matches(@"(?m)^Uid:\s+65534\s+65534\s+65534\s+65534$", events);
        Assert.Contains("CapEff:\t0000000000001000", events);
        Assert.Contains("dropped root: running as uid 65534 gid 65534, keeping CAP_NET_ADMIN", log);
        Assert.DoesNotContain("could not apply", log);
    }

    [SkippableTheory]
    [InlineData("miredo")]
    [InlineData("ours")]
    public void Qualifies_behind_every_NAT_and_names_its_type(string server)
    {
        lab.Require();
        StartServer(server);
        var expected = new Dictionary<string, string>
        {
            ["clfc"] = "cone",
            ["clprc"] = "restricted",
            ["clsym"] = "symmetric",
            ["cldbl"] = "restricted", // two port-restricted NATs in series
        };
        foreach (var node in Clients) StartClient(node);
        foreach (var node in Clients)
        {
            string address = WaitQualified(node);
            var decoded = TeredoAddress.Parse(address);
            Assert.Equal("198.18.0.10", decoded.Server.ToString());
            Assert.False(decoded.Cone); // RFC 5991
            var status = WaitForNatType(node, TimeSpan.FromSeconds(20));
            output.WriteLine($"{node}: {status.GetProperty("natType")} after {status.GetProperty("natTypeMilliseconds")} ms ({status.GetProperty("natDetection")}), " +
                $"qualified in {status.GetProperty("qualificationMilliseconds")} ms as {address}, mapped {status.GetProperty("mappedEndpoint")}");
            Assert.Equal(expected[node], status.GetProperty("natType").GetString());
            Assert.Equal("qualified", status.GetProperty("state").GetString());
            Assert.Equal(address, status.GetProperty("teredoAddress").GetString());
            // The address embeds the mapping the server reported, and the NAT's public address.
            Assert.Equal(decoded.MappedAddress + ":" + decoded.MappedPort, status.GetProperty("mappedEndpoint").GetString());
            Assert.Equal(node switch { "clfc" => "198.18.1.1", "clprc" => "198.18.2.1", "clsym" => "198.18.3.1", _ => "198.18.4.1" },
                decoded.MappedAddress.ToString());
            // Known within the RFC's timers: at once, or when the cone probe times out (N × T = 12 s).
            Assert.True(status.GetProperty("natTypeMilliseconds").GetInt64() <= 12_500);
            Assert.True(status.GetProperty("qualificationMilliseconds").GetInt64() < 1_000);
            var counters = status.GetProperty("counters");
            Assert.True(counters.GetProperty("routerAdvertisementAccepted").GetInt64() >= 2);
            Assert.Equal(counters.GetProperty("udpReceived").GetInt64(), SumOfUdpOutcomes(counters));
        }
        // The human view names the same things.
        var human = Lab.Exec(LabSession.Teredo, ["status", "--control", Socket("clsym")], Short);
        Assert.Contains("natType", human.Stdout);
        Assert.Contains("symmetric", human.Stdout);
    }

    [SkippableTheory]
    [InlineData("clprc")]
    [InlineData("clsym")]
    public void Reaches_a_native_host_through_the_Miredo_relay_and_is_reached_from_it(string node)
    {
        lab.Require();
        StartServer("miredo");
        StartMiredoRelay();
        StartClient(node);
        string address = WaitQualified(node);
        MustRun(Short, "start", "host6", "tcp-echo", "--", "socat", "TCP6-LISTEN:7007,fork,reuseaddr", "EXEC:cat");
        MustRun(Short, "start", node, "tcp-echo", "--", "socat", $"TCP6-LISTEN:7008,bind=[{address}],fork,reuseaddr", "EXEC:cat");
        Thread.Sleep(300);

        // Client first: the connectivity test goes through the server, the answers come through the relay.
        var ping1 = Run(Short, "exec", node, "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", Host6);
        Assert.True(LabSession.Received(ping1) >= 3, "client -> host6: " + ping1);
        var tcp1 = Run(Short, "exec", node, "--", "sh", "-c", $"head -c 100000 /dev/urandom | base64 -w0 | tee /tmp/tlab-{node}.sent | timeout 20 socat -t 3 - TCP6:[{Host6}]:7007 > /tmp/tlab-{node}.echo; cmp /tmp/tlab-{node}.sent /tmp/tlab-{node}.echo && echo transfer-ok; rm -f /tmp/tlab-{node}.sent /tmp/tlab-{node}.echo");
        Assert.Contains("transfer-ok", tcp1.Stdout);

        // Native host first, after the client forgot it: a fresh client, started as a drop-in for Miredo
        // from the miredo.conf that lab.sh wrote for Miredo's client, unchanged.
        Run(Short, "stop", node, "tcp-echo");
        StopTunnel(node);
        MustRun(Long, "miredo-client", node);
        StopTunnel(node);
        MustRun(Short, "start", node, "teredo-client", "--", LabSession.Teredo, "client", "-c", $"/run/tlab/{node}/miredo-client.conf", "--control", Socket(node));
        address = WaitQualified(node);
        MustRun(Short, "start", node, "tcp-echo", "--", "socat", $"TCP6-LISTEN:7008,bind=[{address}],fork,reuseaddr", "EXEC:cat");
        Thread.Sleep(300);
        var ping2 = Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", address);
        Assert.True(LabSession.Received(ping2) >= 3, "host6 -> client: " + ping2);
        var tcp2 = Run(Short, "exec", "host6", "--", "sh", "-c", $"head -c 100000 /dev/urandom | base64 -w0 | tee /tmp/tlab-h6.sent | timeout 20 socat -t 3 - TCP6:[{address}]:7008 > /tmp/tlab-h6.echo; cmp /tmp/tlab-h6.sent /tmp/tlab-h6.echo && echo transfer-ok; rm -f /tmp/tlab-h6.sent /tmp/tlab-h6.echo");
        Assert.Contains("transfer-ok", tcp2.Stdout);

        var status = Status(node);
        output.WriteLine(status.ToString());
        var counters = status.GetProperty("counters");
        Assert.True(counters.GetProperty("indirectBubbleAnswered").GetInt64() >= 1);
        Assert.True(counters.GetProperty("echoTestAnswered").GetInt64() >= 1);
        Assert.True(counters.GetProperty("sentToTrustedPeer").GetInt64() > 10);
        Assert.Equal(counters.GetProperty("udpReceived").GetInt64(), SumOfUdpOutcomes(counters));
    }

    /// <summary>Every counter between udpDropMalformed and probePortDropped is one outcome of a received datagram.</summary>
    private static long SumOfUdpOutcomes(JsonElement counters)
    {
        long sum = 0;
        bool inside = false;
        foreach (var c in counters.EnumerateObject())
        {
            if (c.Name == "udpDropMalformed") inside = true;
            if (inside) sum += c.Value.GetInt64();
            if (c.Name == "probePortDropped") break;
        }
        return sum;
    }

    /// <summary>
    /// Client to client, directly. The pairs are those RFC 4380 can connect over this lab's Linux NATs:
    /// a cone NAT on one side, or the symmetric one when the other side starts (its indirect bubble
    /// brings our answer from the mapping it will then use). Two port-restricted Linux NATs defeat Teredo
    /// hole punching, Miredo's as much as ours: the first bubble to arrive leaves a conntrack entry that
    /// makes the other side's outgoing mapping take another port (docs/client.md).
    /// </summary>
    [SkippableTheory]
    [InlineData("clprc", "clfc", false)]
    [InlineData("clfc", "cldbl", false)]
    [InlineData("cldbl", "clfc", false)]
    [InlineData("clsym", "clfc", true)]
    public void Our_client_and_a_Miredo_client_reach_each_other_directly(string ours, string miredo, bool miredoFirst)
    {
        lab.Require();
        StartServer("miredo");
        StartClient(ours);
        StopTunnel(miredo);
        MustRun(Long, "miredo-client", miredo);
        string our = WaitQualified(ours);
        string their = WaitQualified(miredo);

        CommandResult Ping(string from, string to) => Run(Short, "exec", from, "--", "ping", "-6", "-n", "-c", "5", "-i", "0.4", "-W", "2", to);
        var first = miredoFirst ? Ping(miredo, our) : Ping(ours, their);
        Assert.True(LabSession.Received(first) >= 4, $"first {(miredoFirst ? miredo : ours)} -> {(miredoFirst ? ours : miredo)}: " + first);
        var second = miredoFirst ? Ping(ours, their) : Ping(miredo, our);
        Assert.True(LabSession.Received(second) >= 4, $"then {(miredoFirst ? ours : miredo)} -> {(miredoFirst ? miredo : ours)}: " + second);

        // Direct: our peer entry holds the Miredo client's NAT endpoint, proven, not a relay or the server.
        var status = Status(ours);
        JsonElement? peer = null;
        foreach (var p in status.GetProperty("peers").EnumerateArray())
            if (p.GetProperty("address").GetString() == their) peer = p;
        Assert.True(peer is not null, "no peer entry for " + their + ": " + status);
        Assert.Equal("trusted", peer.Value.GetProperty("trust").GetString());
        string mapped = peer.Value.GetProperty("mapped").GetString()!;
        string nat = miredo switch { "clfc" => "198.18.1.1", "cldbl" => "198.18.4.1", _ => "198.18.2.1" };
        Assert.StartsWith(nat + ":", mapped);
        Assert.True(status.GetProperty("counters").GetProperty("sentToTrustedPeer").GetInt64() >= 4);
    }

    /// <summary>
    /// Issue 16 for the client: behind the full-cone NAT (the IPv4 peer's answer must get in), our client
    /// pings T(D) of the throw-away coordinator for every D, those whose T(D) embeds a non-global
    /// "mapping" included. Its indirect bubble reaches the coordinator, the peer answers the nonce from
    /// its own socket, and the queued echo and the rest follow to that socket.
    /// </summary>
    [SkippableFact]
    public void Reaches_every_coordinator_address_through_the_ipv4_peer_that_answers_for_it()
    {
        lab.Require();
        StartServer("miredo");
        var p2p = new P2PStandIn(_lab, output);
        p2p.Start();
        StartClient("clfc");
        WaitQualified("clfc");

        var rows = p2p.PingEach("clfc", "teredo client");
        Assert.All(rows, row => Assert.True(row.Received == 3, $"clfc -> T({row.D}) = {row.Target}: {row.Received}/3"));
        var counters = Status("clfc").GetProperty("counters");
        output.WriteLine(counters.ToString());
        Assert.True(counters.GetProperty("nonceBubbleAccepted").GetInt64() >= P2PStandIn.Destinations.Length);
        Assert.Equal(0, counters.GetProperty("sendRefusedNotGlobal").GetInt64());
        Assert.Equal(0, counters.GetProperty("tunDropServerNotGlobal").GetInt64());
    }

    [SkippableFact]
    public void After_the_NAT_forgets_its_mappings_the_client_moves_to_its_new_address_within_one_refresh_interval()
    {
        lab.Require();
        StartServer("ours");
        StartMiredoRelay();
        const int refreshSeconds = 10;
        StartClient("clprc", "--refresh-interval", refreshSeconds.ToString());
        string before = WaitQualified("clprc");
        var ping = Run(Short, "exec", "clprc", "--", "ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "2", Host6);
        Assert.True(LabSession.Received(ping) >= 1, ping.ToString());
        var old = TeredoAddress.Parse(before);

        // conntrack -F, and the old public port taken by a flow from the server's address and port (as
        // when the NAT restarts and someone else gets the port): MASQUERADE must pick another one.
        var clock = Stopwatch.StartNew();
        MustRun(Short, "nat-flush", "natprc");
        var taken = Lab.InNode("natprc", Short, "conntrack", "-I", "-p", "udp", "-s", "198.18.0.10", "-d", "198.18.2.1",
            "--sport", "3544", "--dport", old.MappedPort.ToString(), "--timeout", "120");
        output.WriteLine(taken.ToString());
        Assert.Equal(0, taken.ExitCode);

        string? after = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(refreshSeconds + 5))
        {
            after = Address("clprc");
            if (after is not null && after != before) break;
            Thread.Sleep(50);
        }
        var noticed = clock.Elapsed;
        output.WriteLine($"old {before}, new {after}, {noticed.TotalSeconds:F2} s after the flush");
        Assert.NotNull(after);
        Assert.NotEqual(before, after);
        Assert.True(noticed <= TimeSpan.FromSeconds(refreshSeconds + 0.5), $"noticed after {noticed.TotalSeconds:F1} s, refresh interval {refreshSeconds} s");
        var moved = TeredoAddress.Parse(after!);
        Assert.Equal(old.MappedAddress, moved.MappedAddress);
        Assert.NotEqual(old.MappedPort, moved.MappedPort);
        // The old address left the interface, link-local twin included.
        var addresses = Lab.Exec("ip", ["-n", "tlab-clprc", "-6", "-o", "addr", "show", "dev", "teredo"], Short).Stdout;
        Assert.DoesNotContain(before, addresses);
        Assert.Contains(after!, addresses);
        var status = Status("clprc");
        Assert.Equal(1, status.GetProperty("counters").GetProperty("addressChanges").GetInt64());

        // Traffic resumes both ways on the new address.
        var out1 = Run(Short, "exec", "clprc", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", Host6);
        Assert.True(LabSession.Received(out1) >= 3, "client -> host6 after the change: " + out1);
        var in1 = Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", after!);
        Assert.True(LabSession.Received(in1) >= 3, "host6 -> client after the change: " + in1);
    }

    [SkippableFact]
    public void Refuses_to_run_where_the_host_already_has_native_IPv6()
    {
        lab.Require();
        lab.EnsureUp();
        var r = Lab.InNode("host6", Short, LabSession.Teredo, "client", "--server", "198.18.0.10", "--control", Socket("host6"));
        output.WriteLine(r.ToString());
        Assert.Equal(1, r.ExitCode);
        // host6 may also carry the nat64 topology's deprecated 2001:db8:1::101; either is native IPv6.
        Assert.Matches(@"already has IPv6 \(2001:db8:1::10[01] on eth6\)", r.Stderr);
        Assert.Contains("RFC 4380 §5.5", r.Stderr);
        Assert.False(File.Exists(Socket("host6")));
    }

    /// <summary>
    /// Time from starting the daemon to a Teredo address on the interface, ours against Miredo's client,
    /// in the same node, started the same way (lab.sh start), polled every few milliseconds; several runs
    /// per NAT. Prints the table; also checks both qualify every time.
    /// </summary>
    [SkippableFact]
    public void Qualification_time_against_Miredo()
    {
        lab.Require();
        StartServer("miredo");
        const int runs = 5;
        var table = new StringBuilder();
        table.AppendLine("node   NAT                 ours ms (process start -> address)   ours protocol ms   Miredo ms");
        foreach (var node in Clients)
        {
            // lab.sh writes Miredo's configuration; the timed runs start Miredo like ours, without lab.sh's start-up sleep.
            StopTunnel(node);
            MustRun(Long, "miredo-client", node);
            StopTunnel(node);
            var ours = new List<long>();
            var protocol = new List<long>();
            var miredo = new List<long>();
            for (int i = 0; i < runs; i++)
            {
                ours.Add(TimeToAddress(node, "teredo-client", [LabSession.Teredo, "client", "--server", "198.18.0.10", "--control", Socket(node)]));
                protocol.Add(Status(node).GetProperty("qualificationMilliseconds").GetInt64());
                StopTunnel(node);
                miredo.Add(TimeToAddress(node, "miredo-client", ["miredo", "-f", "-c", $"/run/tlab/{node}/miredo-client.conf",
                    "-p", $"/run/tlab/{node}/miredo-client.daemon-pid", "-u", "miredo"]));
                StopTunnel(node);
            }
            string nat = node switch { "clfc" => "full cone", "clprc" => "port-restricted", "clsym" => "symmetric", _ => "double port-restr." };
            table.AppendLine($"{node,-6} {nat,-19} {Summary(ours),-36} {Summary(protocol),-18} {Summary(miredo)}");
        }
        output.WriteLine(table.ToString());
    }

    private static string Summary(List<long> values)
    {
        var sorted = values.Order().ToList();
        return $"median {sorted[sorted.Count / 2]} (min {sorted[0]}, max {sorted[^1]})";
    }

    private long TimeToAddress(string node, string name, string[] command)
    {
        var clock = Stopwatch.StartNew();
        var start = Lab.Run(Short, ["start", node, name, "--", .. command]);
        Assert.True(start.ExitCode == 0, start.ToString());
        while (Address(node) is null)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{name} in {node} did not qualify");
            Thread.Sleep(2);
        }
        return clock.ElapsedMilliseconds;
    }
}
