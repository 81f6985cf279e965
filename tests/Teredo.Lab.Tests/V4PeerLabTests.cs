using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 12 on real networks: `teredo coordinator` on a lab address of srv (198.18.0.30, so its /64 is
/// 2001:0:c612:1e::/64), `teredo v4peer` behind each NAT kind, an unmodified Miredo relay or ours on the
/// relay node, and host6 pinging and fetching host4's page through T(D). Also the RFC 6890 refusal seen
/// from host6, the static address reaching a service on the peer's host, and a restart keeping it.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class V4PeerLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string Coordinator = "198.18.0.30";
    private const string CoordinatorSocket = "/run/tlab/srv/coordinator.sock";
    private static readonly string[] PeerNodes = ["clsym", "clprc", "clfc", "cldbl"];
    private readonly LabSession _lab = new(output);
    private readonly List<string> _host4Extra = [];

    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        foreach (var node in PeerNodes) Lab.Run(Short, "stop", node, "v4peer");
        foreach (var node in PeerNodes) Lab.Run(Short, "stop", node, "service");
        foreach (var (node, name) in new[] { ("srv", "coordinator"), ("relay", "teredo-relay"), ("relay", "miredo-relay"), ("srv", "miredo-server") })
            Lab.Run(Short, "stop", node, name);
        Lab.InNode("srv", Short, "ip", "addr", "del", Coordinator + "/15", "dev", "eth4");
        foreach (var a in _host4Extra) Lab.InNode("host4", Short, "ip", "addr", "del", a + "/15", "dev", "eth4");
    }

    private CommandResult Run(TimeSpan timeout, params string[] args) => _lab.Run(timeout, args);

    private CommandResult MustRun(TimeSpan timeout, params string[] args) => _lab.MustRun(timeout, args);

    /// <summary>miredo-server keeps the lab's usual server on srv; the coordinator takes one more srv address.</summary>
    private string StartCoordinator(params string[] allow) => StartCoordinatorWith([], allow);

    private string StartCoordinatorWith(string[] extra, params string[] allow)
    {
        lab.EnsureUp();
        if (!File.Exists("/run/tlab/srv/miredo-server.pid")) MustRun(Long, "miredo-server", "srv");
        Lab.InNode("srv", Short, "ip", "addr", "add", Coordinator + "/15", "dev", "eth4");
        var args = new List<string> { "start", "srv", "coordinator", "--", LabSession.Teredo, "coordinator", "--address", Coordinator,
            "--state", "/run/tlab/srv/coordinator-state", "--control", CoordinatorSocket, "--allow-destination", "198.18.0.0/15" };
        foreach (var a in allow) args.AddRange(["--allow-destination", a]);
        args.AddRange(extra);
        Directory.CreateDirectory("/run/tlab/srv");
        if (Directory.Exists("/run/tlab/srv/coordinator-state")) Directory.Delete("/run/tlab/srv/coordinator-state", true);
        MustRun(Short, [.. args]);
        WaitFor(() => File.Exists(CoordinatorSocket), "the coordinator's control socket");
        return LabSession.Status(CoordinatorSocket).GetProperty("pin").GetString()!;
    }

    private static string PeerSocket(string node) => $"/run/tlab/{node}/v4peer.sock";

    private JsonElement StartPeer(string node, string pin, bool freshState = true, params string[] extra)
    {
        string state = $"/run/tlab/{node}/v4peer-state";
        if (freshState && Directory.Exists(state)) Directory.Delete(state, true);
        MustRun(Short, ["start", node, "v4peer", "--", LabSession.Teredo, "v4peer", "--coordinator", Coordinator, "--pin", pin,
            "--state", state, "--control", PeerSocket(node), "--allow-destination", "198.18.0.0/15", .. extra]);
        JsonElement status = default;
        WaitFor(() => File.Exists(PeerSocket(node)) && (status = TryStatus(PeerSocket(node))).ValueKind == JsonValueKind.Object
                      && status.GetProperty("state").GetString() == "connected", $"v4peer in {node} connected");
        return status;
    }

    private void StopPeer(string node)
    {
        MustRun(Short, "stop", node, "v4peer");
        output.WriteLine(File.ReadAllText($"/run/tlab/{node}/v4peer.log"));
    }

    private static JsonElement TryStatus(string socket)
    {
        var r = Lab.Exec(LabSession.Teredo, ["status", "--control", socket, "--json"], Short);
        return r.ExitCode == 0 ? JsonDocument.Parse(r.Stdout).RootElement.Clone() : default;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (condition()) return;
            Thread.Sleep(200);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    private void StartRelay(string relay, params string[] extra)
    {
        Run(Short, "stop", "relay", "teredo-relay");
        Run(Short, "stop", "relay", "miredo-relay");
        MustRun(Long, [relay == "ours" ? "teredo-relay" : "miredo-relay", "relay", .. extra]);
    }

    private static string[] ProcStatus(string node, string name) =>
        File.ReadAllLines($"/proc/{File.ReadAllText($"/run/tlab/{node}/{name}.pid").Split(' ')[0].Trim()}/status");

    /// <summary>One more address of host4 (its socat servers listen on all), so that each run gets a T(D) no relay has cached.</summary>
    private string Host4Address(int index)
    {
        string address = $"198.18.0.{100 + index}";
        if (index == 0) return address;
        Lab.InNode("host4", Short, "ip", "addr", "add", address + "/15", "dev", "eth4");
        _host4Extra.Add(address);
        return address;
    }

    /// <summary>T(D) of DESIGN.md §B.1: 2001:0 | coordinator | 0x00 | D | suffix 0.</summary>
    public static string Target(string coordinator, string destination)
    {
        var b = new byte[16];
        b[0] = 0x20;
        b[1] = 0x01;
        IPAddress.Parse(coordinator).GetAddressBytes().CopyTo(b, 4);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(b, 9);
        return new IPAddress(b).ToString();
    }

    private (int Pings, bool Http) PingAndFetch(string target, string url)
    {
        var ping = Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "3", "-i", "0.3", "-W", "3", target);
        var http = Run(Long, "exec", "host6", "--", "curl", "-6", "-sS", "-m", "15", "-g", url);
        return (LabSession.Received(ping), http.Stdout.Contains("hello from host4"));
    }

    /// <summary>The NAT-kind table: host6 → T(D) → relay → v4peer behind each NAT → host4, through Miredo's relay and ours.</summary>
    [SkippableTheory]
    [InlineData("miredo")]
    [InlineData("ours")]
    public void Host6_pings_and_fetches_host4_through_T_D_behind_every_NAT(string relay)
    {
        lab.Require();
        string pin = StartCoordinator();
        StartRelay(relay);
        var rows = new List<(string Node, string D, int Pings, bool Http)>();
        int index = relay == "ours" ? 10 : 0;
        foreach (var node in PeerNodes)
        {
            string d = Host4Address(index++);
            StartPeer(node, pin);
            string target = Target(Coordinator, d);
            var (pings, http) = PingAndFetch(target, $"http://[{target}]/");
            rows.Add((node, d, pings, http));
            var status = TryStatus(PeerSocket(node));
            output.WriteLine(status.ToString());
            StopPeer(node);
        }
        output.WriteLine($"| peer behind | D | ping through {relay} relay | HTTP |");
        foreach (var r in rows) output.WriteLine($"| {r.Node} | {r.D} | {r.Pings}/3 | {(r.Http ? "ok" : "failed")} |");
        Assert.All(rows, r => Assert.True(r.Pings == 3 && r.Http, $"{relay} relay, peer in {r.Node}: ping {r.Pings}/3, HTTP {r.Http}"));
    }

    /// <summary>
    /// traceroute -6 (UDP, then TCP SYNs) from host6 to far4, an IPv4-only host behind the router rtr4, through
    /// the peer behind the symmetric NAT. Every hop answers: the relay itself, then the translator's own
    /// hop-limit error, the peer host's kernel, natsym and rtr4 (ICMPv4 time exceeded translated and sent
    /// from T(far4), the address the relay maps to the peer: no relay holds T(router)), then far4.
    /// </summary>
    [SkippableTheory]
    [InlineData("miredo")]
    [InlineData("ours")]
    public void Traceroute_from_host6_reaches_a_host_behind_one_more_router_with_every_hop_answering(string relay)
    {
        lab.Require();
        const string Far4 = "198.19.50.2", RelayNative = "2001:db8:1::20";
        string pin = StartCoordinator();
        StartRelay(relay);
        StartPeer("clsym", pin);
        string target = Target(Coordinator, Far4);
        // the relay's bubble exchange first, so that no probe waits in its queue
        var ping = Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "3", target);
        var udp = Run(Long, "exec", "host6", "--", "traceroute", "-6", "-n", "-q", "2", "-w", "3", "-m", "10", target);
        var tcp = Run(Long, "exec", "host6", "--", "traceroute", "-6", "-n", "-q", "2", "-w", "3", "-m", "10", "-T", "-p", "7", target);
        var status = TryStatus(PeerSocket("clsym"));
        output.WriteLine(udp.Stdout + udp.Stderr);
        output.WriteLine(tcp.Stdout + tcp.Stderr);
        output.WriteLine(status.ToString());
        StopPeer("clsym");

        Assert.True(LabSession.Received(ping) >= 1, "no ping answer through the peer: " + ping.Stdout);
        string[] expected = [RelayNative, target, target, target, target, target]; // relay, translator, peer host, natsym, rtr4, far4
        foreach (var (kind, run) in new[] { ("UDP", udp), ("TCP", tcp) })
        {
            var hops = Traceroute.Hops(run.Stdout);
            Assert.True(hops.Count == expected.Length, $"{kind} traceroute through the {relay} relay: {hops.Count} hops, expected {expected.Length}:\n{run.Stdout}");
            for (int i = 0; i < hops.Count; i++)
            {
                Assert.True(hops[i].Count >= 1, $"{kind} hop {i + 1} did not answer:\n{run.Stdout}");
                Assert.All(hops[i], a => Assert.Equal(IPAddress.Parse(expected[i]), IPAddress.Parse(a)));
            }
        }
        Assert.True(LabSession.Counter(status, "routerErrorsResourced") >= 6, "router errors re-sourced: " + status);
    }

    /// <summary>
    /// The coordinator allows 10.0.0.0/8 but the peer does not: host6's ping to T(10.3.0.1) (the NAT's LAN
    /// side) comes back as ICMPv6 administratively prohibited, originated by the peer's translator.
    /// </summary>
    [SkippableFact]
    public void A_non_global_destination_is_refused_with_administratively_prohibited()
    {
        lab.Require();
        string pin = StartCoordinator("10.0.0.0/8");
        StartRelay("miredo");
        StartPeer("clsym", pin);
        var ping = Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "2", "-i", "0.5", "-W", "3", Target(Coordinator, "10.3.0.1"));
        var status = TryStatus(PeerSocket("clsym"));
        output.WriteLine(status.ToString());
        StopPeer("clsym");
        Assert.Equal(0, LabSession.Received(ping));
        Assert.Contains("Administratively prohibited", ping.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.True(status.GetProperty("translator").GetProperty("counters").GetProperty("drop6DestinationProhibited").GetInt64() >= 1);
    }

    /// <summary>The static address reaches a service bound on the peer's own address, and survives a restart of the peer.</summary>
    [SkippableFact]
    public void The_static_address_reaches_a_service_on_the_peers_host_and_survives_a_restart()
    {
        lab.Require();
        string pin = StartCoordinator();
        StartRelay("ours");
        var first = StartPeer("clprc", pin);
        string staticAddress = first.GetProperty("staticAddress").GetString()!;
        string local = first.GetProperty("localAddress").GetString()!;
        File.WriteAllText("/run/tlab/clprc/peer-response", "HTTP/1.0 200 OK\r\n\r\nhello from the peer host\r\n");
        MustRun(Short, "start", "clprc", "service", "--", "socat", $"TCP4-LISTEN:8080,bind={local},reuseaddr,fork", "EXEC:cat /run/tlab/clprc/peer-response");
        Thread.Sleep(300);
        var fetch = Run(Long, "exec", "host6", "--", "curl", "-6", "-sS", "-m", "15", "-g", $"http://[{staticAddress}]:8080/");
        StopPeer("clprc");

        var second = StartPeer("clprc", pin, freshState: false);
        StopPeer("clprc");
        Assert.Contains("hello from the peer host", fetch.Stdout);
        Assert.Equal(staticAddress, second.GetProperty("staticAddress").GetString());
    }

    /// <summary>
    /// Issue 15: the whole chain started as root with --user nobody. The peer opens its TUN, nftables table
    /// and forwarding, then runs as nobody keeping CAP_NET_ADMIN alone (bit 12), and at exit still deletes
    /// its table, which needs it; our relay and the coordinator keep nothing. host6's traffic still flows.
    /// </summary>
    [SkippableFact]
    public void With_user_nobody_the_peer_serves_as_nobody_keeping_only_cap_net_admin_and_undoes_its_table()
    {
        lab.Require();
        string pin = StartCoordinatorWith(["--user", "nobody"]);
        StartRelay("ours", "--user", "nobody");
        StartPeer("clsym", pin, true, "--user", "nobody");
        var status = ProcStatus("clsym", "v4peer");
        var relayStatus = ProcStatus("relay", "teredo-relay");
        var coordinatorStatus = ProcStatus("srv", "coordinator");
        output.WriteLine(string.Join('\n', status.Where(l => l.StartsWith("Uid:") || l.StartsWith("Gid:") || l.StartsWith("Cap"))));
        string target = Target(Coordinator, Host4Address(20));
        var (pings, http) = PingAndFetch(target, $"http://[{target}]/");
        var tablesBefore = Lab.InNode("clsym", Short, "nft", "list", "tables").Stdout;
        StopPeer("clsym");
        var tablesAfter = Lab.InNode("clsym", Short, "nft", "list", "tables").Stdout;
        string log = File.ReadAllText("/run/tlab/clsym/v4peer.log");

        Assert.Contains(status, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^Uid:\s+65534\s+65534\s+65534\s+65534$"));
        Assert.Contains("CapEff:\t0000000000001000", status);
        Assert.Contains("CapPrm:\t0000000000001000", status);
        foreach (var other in new[] { relayStatus, coordinatorStatus })
        {
            Assert.Contains(other, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^Uid:\s+65534\s+65534\s+65534\s+65534$"));
            Assert.Contains("CapEff:\t0000000000000000", other);
        }
        Assert.Contains("dropped root: running as uid 65534 gid 65534, keeping CAP_NET_ADMIN", log);
        Assert.True(pings == 3 && http, $"through the peer running as nobody: ping {pings}/3, HTTP {http}");
        Assert.Contains("teredo_v4peer_", tablesBefore);
        Assert.DoesNotContain("teredo_v4peer_", tablesAfter);
        Assert.Contains("host change undone: deleted nftables table", log);
        Assert.DoesNotContain("could not", log);
    }
}
