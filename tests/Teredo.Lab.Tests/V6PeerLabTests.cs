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
public sealed class V6PeerLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
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
        foreach (var (node, name) in new[] { ("host6", "v6peer"), ("relay", "miredo-relay"), ("srv", "p2p-coordinator"), ("clsym", "p2p-peer") })
            Lab.Run(Short, "stop", node, name);
        Lab.InNode("srv", Short, "ip", "addr", "del", "198.18.0.30/15", "dev", "eth4");
        Lab.InNode("relay", Short, "ip", "-6", "route", "del", Pool);
        Lab.InNode("host6", Short, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=0");
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
}
