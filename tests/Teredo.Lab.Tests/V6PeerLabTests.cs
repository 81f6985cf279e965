using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// A smoke test of `teredo v6peer` on real networks, in the "basic" topology: the v6peer runs in host6's
/// namespace and host6 itself is its client. host6 pings N::D for D = host4; the v6peer sends that to T(D)
/// in the throw-away coordinator's /64 (198.18.0.30 on srv), an unmodified Miredo relay bubbles the
/// coordinator, the throw-away IPv4 peer behind the symmetric NAT answers the echo as T(D), and the reply
/// comes back through the pool to host6 as N::D. The full network (real coordinator and IPv4 peer) is the
/// end-to-end issue's.
/// </summary>
[Collection(LabCollection.Name)]
public sealed partial class V6PeerLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string Pool = "2001:db8:100::/112";
    private const string Host6 = "2001:db8:1::100";
    private const string Socket = "/run/tlab/host6/v6peer.sock";
    private readonly LabSession _lab = new(output);

    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        foreach (var (node, name) in new[] { ("host6", "v6peer"), ("relay", "miredo-relay"), ("srv", "p2p-coordinator"), ("clsym", "p2p-peer"),
                     ("srv", "p2p-coordinator2"), ("clprc", "p2p-peer"), ("relay", "v6peer") })
            Lab.Run(Short, "stop", node, name);
        Lab.InNode("srv", Short, "ip", "addr", "del", "198.18.0.30/15", "dev", "eth4");
        Lab.InNode("srv", Short, "ip", "addr", "del", "198.18.0.31/15", "dev", "eth4");
        Lab.InNode("relay", Short, "ip", "-6", "route", "del", Pool);
        Lab.InNode("host6", Short, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0");
        Lab.InNode("host6", Short, "ip", "-6", "route", "del", "2001:db8:64::/96");
    }

    [SkippableFact]
    public void A_client_reaches_an_ipv4_host_through_the_v6peer_a_miredo_relay_and_an_ipv4_peer()
    {
        lab.Require();
        lab.EnsureUp();
        Lab.InNode("srv", Short, "ip", "addr", "add", "198.18.0.30/15", "dev", "eth4");
        _lab.MustRun(Short, "start", "srv", "p2p-coordinator", "--", LabSession.Tools, "p2p-coordinator", "198.18.0.30");
        _lab.MustRun(Short, "start", "clsym", "p2p-peer", "--", LabSession.Tools, "p2p-peer", "198.18.0.30", "60");
        Thread.Sleep(1500); // the peer registers with the coordinator
        _lab.MustRun(Long, "miredo-relay", "relay");
        // The pool is routed to the v6peer host, as an operator's network would do it.
        Lab.InNode("relay", Short, "ip", "-6", "route", "add", Pool, "via", Host6);

        string[] v6peer = [LabSession.Teredo, "v6peer", "--prefix", "2001:db8:64::/96", "--pool", Pool, "--coordinator", "198.18.0.30",
            "--client-network", "2001:db8:1::/64", "--allow-destination", "198.18.0.0/15", "--control", Socket];
        // Forwarding off: refused, naming the sysctl.
        Lab.InNode("host6", Short, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0");
        var refused = Lab.InNode("host6", Short, v6peer);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("net.ipv6.conf.all.forwarding", refused.Stderr);

        Lab.InNode("host6", Short, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        _lab.MustRun(Short, ["start", "host6", "v6peer", "--", .. v6peer]);
        for (int i = 0; i < 100 && !File.Exists(Socket); i++) Thread.Sleep(50);

        // N::D for D = host4 (198.18.0.100).
        var ping = _lab.Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "5", "-i", "0.3", "-W", "3", "2001:db8:64::c612:64");
        var refusedPing = _lab.Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "1", "-W", "1", "2001:db8:64::a00:1");
        output.WriteLine(File.ReadAllText("/run/tlab/host6/v6peer.log"));
        output.WriteLine(File.ReadAllText("/run/tlab/clsym/p2p-peer.log"));
        var status = LabSession.Status(Socket);
        output.WriteLine(status.ToString());

        Assert.True(LabSession.Received(ping) == 5, "host6 -> N::D through the v6peer: " + ping);
        Assert.Equal("healthy", status.GetProperty("coordinators")[0].GetProperty("health").GetString());
        Assert.Equal(Host6, status.GetProperty("mappings")[0].GetProperty("client").GetString());
        Assert.True(LabSession.Counter(status, "forwardedToClient") >= 5);
        Assert.Contains("prohibited", refusedPing.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, LabSession.Counter(status, "destinationNotGlobal"));
    }

    /// <summary>
    /// Two throw-away coordinators (198.18.0.30 with an IPv4 peer behind the symmetric NAT, 198.18.0.31 with
    /// one behind the port-restricted NAT). A ping runs while the IPv4 peer of the coordinator D was hashed to
    /// goes away: the v6peer takes that coordinator out after the response window (3 s here) and the ping
    /// resumes through the other one, after the relay's bubble exchange with it. Prints the gap.
    /// </summary>
    [SkippableFact]
    public void A_flow_fails_over_to_the_other_coordinator_when_its_ipv4_peer_goes_away()
    {
        lab.Require();
        lab.EnsureUp();
        Lab.InNode("srv", Short, "ip", "addr", "add", "198.18.0.30/15", "dev", "eth4");
        Lab.InNode("srv", Short, "ip", "addr", "add", "198.18.0.31/15", "dev", "eth4");
        _lab.MustRun(Short, "start", "srv", "p2p-coordinator", "--", LabSession.Tools, "p2p-coordinator", "198.18.0.30");
        _lab.MustRun(Short, "start", "srv", "p2p-coordinator2", "--", LabSession.Tools, "p2p-coordinator", "198.18.0.31");
        _lab.MustRun(Short, "start", "clsym", "p2p-peer", "--", LabSession.Tools, "p2p-peer", "198.18.0.30", "90");
        _lab.MustRun(Short, "start", "clprc", "p2p-peer", "--", LabSession.Tools, "p2p-peer", "198.18.0.31", "90");
        Thread.Sleep(1500);
        _lab.MustRun(Long, "miredo-relay", "relay");
        Lab.InNode("relay", Short, "ip", "-6", "route", "add", Pool, "via", Host6);
        Lab.InNode("host6", Short, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        Directory.CreateDirectory("/run/tlab/host6");
        string config = "/run/tlab/host6/v6peer.conf";
        File.WriteAllText(config, "ResponseWindow 3\nAllowDestination 198.18.0.0/15\n");
        _lab.MustRun(Short, "start", "host6", "v6peer", "--", LabSession.Teredo, "v6peer", "-c", config, "--prefix", "2001:db8:64::/96",
            "--pool", Pool, "--coordinator", "198.18.0.30", "--coordinator", "198.18.0.31", "--client-network", "2001:db8:1::/64",
            "--control", Socket);
        for (int i = 0; i < 100 && !File.Exists(Socket); i++) Thread.Sleep(50);
        Assert.True(LabSession.Received(_lab.Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "2", "-W", "3", "2001:db8:64::c612:64")) >= 1);
        var before = LabSession.Status(Socket).GetProperty("coordinators");
        int first = before[0].GetProperty("packetsSent").GetInt64() > 0 ? 0 : 1;
        string firstPeerNode = first == 0 ? "clsym" : "clprc";

        // 0.2 s apart for 20 s; the first coordinator's IPv4 peer leaves after 2 s.
        const double interval = 0.2;
        var ping = Task.Run(() => _lab.Run(TimeSpan.FromSeconds(60), "exec", "host6", "--", "ping", "-6", "-n", "-c", "100", "-i", "0.2", "-W", "1",
            "2001:db8:64::c612:64"));
        Thread.Sleep(2000);
        _lab.MustRun(Short, "stop", firstPeerNode, "p2p-peer");
        var result = ping.Result;
        var status = LabSession.Status(Socket);
        output.WriteLine(status.ToString());
        output.WriteLine(File.ReadAllText("/run/tlab/host6/v6peer.log"));

        var answered = SequencePattern().Matches(result.Stdout).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        int gap = answered.Zip(answered.Skip(1), (a, b) => b - a - 1).DefaultIfEmpty(0).Max();
        output.WriteLine($"failover: {gap} echo requests unanswered in a row = {gap * interval:F1} s without answers (response window 3 s)");
        var coordinators = status.GetProperty("coordinators");
        Assert.Equal("down", coordinators[first].GetProperty("health").GetString());
        Assert.Equal("healthy", coordinators[1 - first].GetProperty("health").GetString());
        Assert.True(coordinators[1 - first].GetProperty("packetsAnswered").GetInt64() > 0, "nothing came back through the other coordinator");
        Assert.True(answered.Count > 0 && answered[^1] >= 95, "the ping did not resume through the other coordinator: " + result.Stdout);
    }

    [GeneratedRegex(@"icmp_seq=(\d+) ttl")]
    private static partial Regex SequencePattern();

    /// <summary>
    /// `--relay embedded` on the dual-stack relay node, with no relay daemon at all: host6 routes N to it,
    /// and the v6peer's own relay engine bubbles the throw-away coordinator and talks to its IPv4 peer.
    /// </summary>
    [SkippableFact]
    public void With_the_embedded_relay_a_dual_stack_v6peer_needs_no_other_relay()
    {
        lab.Require();
        lab.EnsureUp();
        _lab.Run(Short, "stop", "relay", "miredo-relay");
        _lab.Run(Short, "stop", "relay", "teredo-relay");
        Lab.InNode("srv", Short, "ip", "addr", "add", "198.18.0.30/15", "dev", "eth4");
        _lab.MustRun(Short, "start", "srv", "p2p-coordinator", "--", LabSession.Tools, "p2p-coordinator", "198.18.0.30");
        _lab.MustRun(Short, "start", "clsym", "p2p-peer", "--", LabSession.Tools, "p2p-peer", "198.18.0.30", "60");
        Thread.Sleep(1500);
        const string socket = "/run/tlab/relay/v6peer.sock";
        _lab.MustRun(Short, "start", "relay", "v6peer", "--", LabSession.Teredo, "v6peer", "--prefix", "2001:db8:64::/96", "--pool", Pool,
            "--coordinator", "198.18.0.30", "--client-network", "2001:db8:1::/64", "--allow-destination", "198.18.0.0/15",
            "--relay", "embedded", "--control", socket);
        for (int i = 0; i < 100 && !File.Exists(socket); i++) Thread.Sleep(50);
        Lab.InNode("host6", Short, "ip", "-6", "route", "add", "2001:db8:64::/96", "via", "2001:db8:1::20");

        var ping = _lab.Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "5", "-i", "0.3", "-W", "3", "2001:db8:64::c612:64");
        output.WriteLine(File.ReadAllText("/run/tlab/relay/v6peer.log"));
        var status = LabSession.Status(socket);
        output.WriteLine(status.ToString());
        Assert.True(LabSession.Received(ping) == 5, "host6 -> N::D through the v6peer's own relay: " + ping);
        Assert.Equal("embedded", status.GetProperty("relay").GetString());
        Assert.True(status.GetProperty("relayBubblesSent").GetInt64() >= 1);
        Assert.True(LabSession.Counter(status, "forwardedToClient") >= 5);
        Assert.Equal(0, LabSession.Counter(status, "relayOutputConfined"));
    }
}
