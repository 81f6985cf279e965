using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 11 on real networks: `teredo coordinator` at 198.18.0.30 (srv), a stand-in IPv4 peer on the real
/// TLS control channel behind the symmetric NAT (clsym), and host6 pinging T(D) through an unmodified
/// Miredo relay and through `teredo relay`; then kill -9 of the coordinator, and a bubble flood.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CoordinatorLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string S = "198.18.0.30";
    /// <summary>T(D) for D = host4 (198.18.0.100) in S's /64.</summary>
    private const string Target = "2001:0:c612:1e:c6:1200:6400:0";
    private const string Socket = "/run/tlab/srv/coordinator.sock";
    private const string CoordinatorState = "/run/tlab/srv/coordinator-state";
    private const string PeerState = "/run/tlab/clsym/v4peer-state";
    private readonly LabSession _lab = new(output);

    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        foreach (var (node, name) in new[] { ("relay", "teredo-relay"), ("relay", "miredo-relay"), ("srv", "coordinator"), ("clsym", "v4peer") })
            Lab.Run(Short, "stop", node, name);
        Lab.InNode("srv", Short, "ip", "addr", "del", S + "/15", "dev", "eth4");
    }

    private void StartCoordinator() =>
        _lab.MustRun(Short, "start", "srv", "coordinator", "--", LabSession.Teredo, "coordinator", "--address", S,
            "--state", CoordinatorState, "--control", Socket, "--allow-destination", "198.18.0.0/15");

    private static JsonElement? TryStatus()
    {
        if (!File.Exists(Socket)) return null;
        var r = Lab.Exec(LabSession.Teredo, ["status", "--control", Socket, "--json"], Short);
        return r.ExitCode == 0 ? JsonDocument.Parse(r.Stdout).RootElement.Clone() : null;
    }

    private static JsonElement WaitStatus(Func<JsonElement, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = TryStatus();
            if (last is { } s && condition(s)) return s;
            Thread.Sleep(200);
        }
        Assert.Fail($"coordinator status never showed {what}: {last}");
        return default;
    }

    private static long Counter(JsonElement status, string name) => LabSession.Counter(status, name);

    private void Setup(bool freshState = true)
    {
        lab.Require();
        lab.EnsureUp();
        Lab.InNode("srv", Short, "ip", "addr", "add", S + "/15", "dev", "eth4");
        if (freshState)
        {
            if (Directory.Exists(CoordinatorState)) Directory.Delete(CoordinatorState, true);
            if (Directory.Exists(PeerState)) Directory.Delete(PeerState, true);
        }
        StartCoordinator();
        string pin = WaitStatus(_ => true, Short, "a running daemon").GetProperty("pin").GetString()!;
        _lab.MustRun(Short, "start", "clsym", "v4peer", "--", LabSession.Tools, "p2p-v4peer", S, "3544", pin, PeerState, "110");
        WaitStatus(s => s.GetProperty("peerCount").GetInt32() == 1, Short, "the peer joined");
    }

    private string Logs() => File.ReadAllText("/run/tlab/srv/coordinator.log") + "\n" + File.ReadAllText("/run/tlab/clsym/v4peer.log");

    private CommandResult Ping(int count) =>
        _lab.Run(Long, "exec", "host6", "--", "ping", "-6", "-n", "-c", count.ToString(), "-i", "0.3", "-W", "3", Target);

    [SkippableTheory]
    [InlineData("miredo")]
    [InlineData("ours")]
    public void Host6_pings_T_of_D_through_a_standard_relay_and_the_bubble_reaches_the_peer_over_TLS(string relay)
    {
        Setup();
        if (relay == "ours") _lab.MustRun(Long, "teredo-relay", "relay");
        else _lab.MustRun(Long, "miredo-relay", "relay");

        var ping = Ping(5);
        output.WriteLine(Logs());
        Assert.True(LabSession.Received(ping) == 5, $"{relay} relay: host6 -> T(D) through the coordinator's peer: " + ping);
        var status = WaitStatus(s => Counter(s, "leasesRenewed") >= 1, Short, "a renewed lease");
        output.WriteLine(status.ToString());
        var lease = Assert.Single(status.GetProperty("leases").EnumerateArray());
        Assert.Equal(Target, lease.GetProperty("address").GetString());
        Assert.Equal("198.18.0.100", lease.GetProperty("destination").GetString());
        Assert.True(lease.GetProperty("proven").GetBoolean());
        Assert.StartsWith("198.18.0.20:", Assert.Single(lease.GetProperty("relays").EnumerateArray()).GetString());
        Assert.True(Counter(status, "notificationsSent") >= 1);
        Assert.Contains("bubbled relay 198.18.0.20", File.ReadAllText("/run/tlab/clsym/v4peer.log"));
    }

    [SkippableFact]
    public void After_kill_9_of_the_coordinator_the_peer_reconnects_keeps_its_static_address_and_flows_resume()
    {
        Setup();
        _lab.MustRun(Long, "miredo-relay", "relay");
        Assert.Equal(5, LabSession.Received(Ping(5)));
        var before = Assert.Single(TryStatus()!.Value.GetProperty("peers").EnumerateArray());
        string identity = before.GetProperty("identity").GetString()!;
        string staticAddress = before.GetProperty("staticAddress").GetString()!;
        string pin = TryStatus()!.Value.GetProperty("pin").GetString()!;

        string pid = File.ReadAllText("/run/tlab/srv/coordinator.pid").Split(' ')[0];
        Lab.Exec("kill", ["-9", pid], Short);
        Thread.Sleep(1500);
        StartCoordinator();
        var after = WaitStatus(s => s.GetProperty("peerCount").GetInt32() == 1, TimeSpan.FromSeconds(40), "the peer back after the restart");
        var peer = Assert.Single(after.GetProperty("peers").EnumerateArray());
        Assert.Equal(identity, peer.GetProperty("identity").GetString());
        Assert.Equal(staticAddress, peer.GetProperty("staticAddress").GetString());
        Assert.Equal(pin, after.GetProperty("pin").GetString());
        string peerLog = File.ReadAllText("/run/tlab/clsym/v4peer.log");
        output.WriteLine(peerLog);
        Assert.Matches(new Regex("retrying in"), File.ReadAllText("/run/tlab/clsym/v4peer.log"));

        // Miredo's relay still trusts the peer's mapping; the new coordinator leases T(D) again on the next bubble.
        var ping = Ping(8);
        output.WriteLine(Logs());
        Assert.True(LabSession.Received(ping) >= 6, "after the restart: " + ping);
    }

    [SkippableFact]
    public void Two_hundred_thousand_random_bubbles_leave_an_established_flow_working()
    {
        Setup();
        _lab.MustRun(Long, "teredo-relay", "relay");
        Assert.Equal(5, LabSession.Received(Ping(5)));
        WaitStatus(s => Counter(s, "leasesRenewed") >= 1, Short, "the flow's lease proven");

        var flood = Task.Run(() => Lab.InNode("host4", TimeSpan.FromMinutes(2), LabSession.Tools, "bubble-flood", S, "200000"));
        var during = Ping(20);
        var flooded = flood.Result;
        output.WriteLine(flooded.All);
        var after = Ping(5);
        var status = TryStatus()!.Value;
        output.WriteLine(status.GetProperty("counters").ToString());
        string pid = File.ReadAllText("/run/tlab/srv/coordinator.pid").Split(' ')[0];
        long rssKb = long.Parse(Regex.Match(File.ReadAllText($"/proc/{pid}/status"), @"VmRSS:\s+(\d+)").Groups[1].Value);
        output.WriteLine($"coordinator RSS {rssKb / 1024} MiB, leases {status.GetProperty("leaseCount")}; pings during {LabSession.Received(during)}/20, after {LabSession.Received(after)}/5");

        Assert.True(Counter(status, "bubblesReceived") > 100_000, "the flood did not reach the coordinator");
        Assert.True(Counter(status, "bubbleIntakeLimited") > 0);
        Assert.True(status.GetProperty("leaseCount").GetInt32() <= 200_000);
        Assert.True(LabSession.Received(during) >= 18, "established flow starved during the flood: " + during);
        Assert.Equal(5, LabSession.Received(after));
        var lease = status.GetProperty("leases").EnumerateArray().Single(l => l.GetProperty("address").GetString() == Target);
        Assert.True(lease.GetProperty("proven").GetBoolean());
    }
}
