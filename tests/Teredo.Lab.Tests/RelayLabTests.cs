using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 6's proof on real networks: `teredo relay` between host6 and an unmodified Miredo client
/// (ping and TCP, both directions), the P2P bubble step of DESIGN.md §B.2 against our relay and
/// Miredo's alike (for coordinator addresses whose embedded "mapping" is not global too, issue 16),
/// host-specific mode, and a flood toward a million Teredo destinations.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RelayLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string Host6 = "2001:db8:1::100";
    private const string RelayNative = "2001:db8:1::20";
    private const string StatusSocket = "/run/tlab/relay/teredo-relay.sock";
    private static readonly string Tools = LabSession.Tools;
    private readonly LabSession _lab = new(output);

    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        foreach (var (node, name) in new[] { ("relay", "teredo-relay"), ("relay", "miredo-relay"), ("clprc", "miredo-client"),
                     ("clprc", "tcp-echo"), ("host6", "tcp-echo"), ("srv", "miredo-server") })
            Lab.Run(Short, "stop", node, name);
        P2PStandIn.Stop();
    }

    private CommandResult Run(TimeSpan timeout, params string[] args) => _lab.Run(timeout, args);

    private CommandResult MustRun(TimeSpan timeout, params string[] args) => _lab.MustRun(timeout, args);

    private static int Received(CommandResult ping) => LabSession.Received(ping);

    private static JsonElement Status() => LabSession.Status(StatusSocket);

    private static long Counter(JsonElement status, string name) => LabSession.Counter(status, name);

    /// <summary>miredo-server as the reference server, so that only the relay is ours.</summary>
    private void StartServer()
    {
        lab.EnsureUp();
        Run(Short, "stop", "srv", "teredo-server");
        if (!File.Exists("/run/tlab/srv/miredo-server.pid")) MustRun(Long, "miredo-server", "srv");
    }

    private string StartMiredoClient(string node = "clprc")
    {
        MustRun(Long, "miredo-client", node);
        return MustRun(Long, "wait-qualified", node, "20").Stdout.Trim();
    }

    [SkippableFact]
    public void Native_host_and_miredo_client_reach_each_other_through_our_relay()
    {
        lab.Require();
        StartServer();
        MustRun(Long, "teredo-relay", "relay");
        string client = StartMiredoClient();
        MustRun(Short, "start", "host6", "tcp-echo", "--", "socat", "TCP6-LISTEN:7007,fork,reuseaddr", "EXEC:cat");
        MustRun(Short, "start", "clprc", "tcp-echo", "--", "socat", $"TCP6-LISTEN:7008,bind=[{client}],fork,reuseaddr", "EXEC:cat");
        Thread.Sleep(300);

        var ping1 = Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", client);
        Assert.True(Received(ping1) >= 3, "host6 -> client: " + ping1);
        var tcp1 = Run(Short, "exec", "host6", "--", "sh", "-c", $"echo native-first | timeout 10 socat -t 2 - TCP6:[{client}]:7008");
        Assert.Contains("native-first", tcp1.Stdout);
        var ping2 = Run(Short, "exec", "clprc", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", Host6);
        Assert.True(Received(ping2) >= 3, "client -> host6: " + ping2);
        var tcp2 = Run(Short, "exec", "clprc", "--", "sh", "-c", $"echo client-first | timeout 10 socat -t 2 - TCP6:[{Host6}]:7007");
        Assert.Contains("client-first", tcp2.Stdout);

        var status = Status();
        output.WriteLine(status.ToString());
        Assert.True(Counter(status, "forwardedToTun") > 0);
        Assert.True(Counter(status, "sentToTrustedPeer") > 0);
    }

    /// <summary>
    /// DESIGN.md §B.2 steps 2-4 with the throw-away coordinator and IPv4 peer (<see cref="P2PStandIn"/>),
    /// for each D of issue 16: host6 pings T(D) three times through the relay.
    /// </summary>
    [SkippableTheory]
    [InlineData("miredo")]
    [InlineData("ours")]
    public void Bubble_answered_from_another_socket_is_accepted_and_data_flows_to_it_for_every_coordinator_address(string relay)
    {
        lab.Require();
        StartServer();
        var p2p = new P2PStandIn(_lab, output);
        p2p.Start();
        if (relay == "ours") MustRun(Long, "teredo-relay", "relay");
        else MustRun(Long, "miredo-relay", "relay");

        var rows = p2p.PingEach("host6", relay + " relay");
        Assert.All(rows, row => Assert.True(row.Received == 3, $"{relay} relay: host6 -> T({row.D}) = {row.Target}: {row.Received}/3"));
        if (relay != "ours") return;
        var status = Status();
        output.WriteLine(status.GetProperty("counters").ToString());
        Assert.True(Counter(status, "mismatchAcceptedByNonce") >= P2PStandIn.Destinations.Length);
        Assert.Equal(0, Counter(status, "sendRefusedNotGlobal"));
        Assert.Equal(0, Counter(status, "tunDropServerNotGlobal"));
    }

    [SkippableFact]
    public void Host_specific_relay_reaches_a_miredo_client_without_any_other_relay()
    {
        lab.Require();
        StartServer();
        MustRun(Long, "teredo-relay", "relay", "--host-specific", "--relay-address", RelayNative);
        string client = StartMiredoClient();

        var own = Run(Short, "exec", "relay", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", "-I", RelayNative, client);
        Assert.True(Received(own) >= 3, "relay host -> client: " + own);
        var back = Run(Short, "exec", "clprc", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", RelayNative);
        Assert.True(Received(back) >= 3, "client -> relay host: " + back);
        // Another host routing through it is not served.
        var other = Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "1", client);
        Assert.Equal(0, Received(other));
        var status = Status();
        Assert.Equal("host-specific relay", status.GetProperty("role").GetString());
        Assert.True(Counter(status, "tunDropSourceNotServed") >= 2);
    }

    [SkippableFact]
    public void A_flood_toward_a_million_destinations_stays_bounded_and_established_peers_keep_working()
    {
        lab.Require();
        StartServer();
        MustRun(Long, "teredo-relay", "relay");
        string client = StartMiredoClient();
        Assert.True(Received(Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "2", "-W", "2", client)) >= 1);

        var flood = Task.Run(() => Lab.InNode("host6", TimeSpan.FromMinutes(3), Tools, "flood6", "198.18.0.10", "1000000"));
        var during = Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", "20", "-i", "0.25", "-W", "2", client);
        var flooded = flood.Result;
        output.WriteLine(flooded.All);
        var after = Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "5", "-i", "0.2", "-W", "2", client);

        var status = Status();
        output.WriteLine($"peers {status.GetProperty("peerCount")}, evictions {status.GetProperty("evictions")}, queued bytes {status.GetProperty("queuedBytes")}");
        output.WriteLine(status.GetProperty("counters").ToString());
        string pid = File.ReadAllText("/run/tlab/relay/teredo-relay.pid").Split(' ')[0];
        long rssKb = long.Parse(Regex.Match(File.ReadAllText($"/proc/{pid}/status"), @"VmRSS:\s+(\d+)").Groups[1].Value);
        output.WriteLine($"relay RSS {rssKb / 1024} MiB; pings during the flood {Received(during)}/20, after {Received(after)}/5");

        Assert.True(status.GetProperty("peerCount").GetInt32() <= status.GetProperty("peerCapacity").GetInt32());
        Assert.True(Counter(status, "tunReceived") > 500_000, "the flood did not reach the relay");
        Assert.True(rssKb < 400 * 1024, $"relay RSS {rssKb} KiB");
        // Fresh destinations past the admission rate cost the relay a table lookup and nothing more, so it
        // keeps up with the flood and the established peer's pings, which share its TUN queue, get through.
        Assert.True(Counter(status, "tunDropNewPeerRateLimited") > 0, "the admission limit never applied");
        Assert.True(Received(during) >= 16, "established peer starved during the flood: " + during);
        Assert.True(Received(after) >= 4, "established peer lost after the flood: " + after);
    }
}
