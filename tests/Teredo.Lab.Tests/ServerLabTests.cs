using System.Text.Json;
using Xunit.Abstractions;

namespace Teredo.Lab.Tests;

/// <summary>
/// Issue 4's proof on real networks: unmodified Miredo clients behind every NAT kind qualify against
/// `teredo server` and then reach a native IPv6 host through an unmodified Miredo relay (and are reached
/// from it), with ping and TCP; and garbage sent at the running daemon neither stops it nor breaks its
/// accounting.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ServerLabTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Short = LabFixture.Short;
    private static readonly TimeSpan Long = LabFixture.Long;
    private const string Host6 = "2001:db8:1::100";
    private const string StatusSocket = "/run/tlab/srv/teredo-server.sock";

    private readonly LabSession _lab = new(output);

    /// <summary>Other test classes share the topology and expect srv's port 3544 free for miredo-server.</summary>
    public void Dispose()
    {
        if (lab.SkipReason is not null || !lab.IsUp) return;
        Lab.Run(Short, "stop", "srv", "teredo-server");
        Lab.Run(Short, "stop", "host6", "tcp-echo");
    }

    private CommandResult Run(TimeSpan timeout, params string[] args) => _lab.Run(timeout, args);

    private CommandResult MustRun(TimeSpan timeout, params string[] args) => _lab.MustRun(timeout, args);

    /// <summary>Our server on srv (replacing a Miredo one), the Miredo relay on relay, a TCP echo on host6.</summary>
    private void StartServerAndRelay()
    {
        lab.EnsureUp();
        Run(Short, "miredo-stop", "srv", "server");
        if (!File.Exists(StatusSocket)) MustRun(Long, "teredo-server", "srv");
        if (!File.Exists("/run/tlab/relay/miredo-relay.pid")) MustRun(Long, "miredo-relay", "relay");
        if (!File.Exists("/run/tlab/host6/tcp-echo.pid"))
            MustRun(Short, "start", "host6", "tcp-echo", "--", "socat", "TCP6-LISTEN:7007,fork,reuseaddr", "EXEC:cat");
    }

    private static JsonElement Status() => LabSession.Status(StatusSocket);

    private static void AssertCountersAddUp(JsonElement status)
    {
        long received = 0, outcomes = 0;
        foreach (var c in status.GetProperty("counters").EnumerateObject())
        {
            if (c.Name == "received") received = c.Value.GetInt64();
            else if (c.Name != "sendErrors") outcomes += c.Value.GetInt64();
        }
        Assert.Equal(received, outcomes);
    }

    private static int Received(CommandResult ping) => LabSession.Received(ping);

    [SkippableTheory]
    [InlineData("clfc")]
    [InlineData("clprc")]
    [InlineData("clsym")]
    [InlineData("cldbl")]
    public void Miredo_client_qualifies_against_our_server_and_reaches_native_ipv6_both_ways(string client)
    {
        lab.Require();
        StartServerAndRelay();
        long rasBefore = Status().GetProperty("counters").GetProperty("routerAdvertisementSent").GetInt64();
        try
        {
            MustRun(Long, "miredo-client", client);
            string address = MustRun(Long, "wait-qualified", client, "20").Stdout.Trim();
            Assert.StartsWith("2001:0:c612:a:", address); // the prefix of our server, 198.18.0.10
            Assert.True(Status().GetProperty("counters").GetProperty("routerAdvertisementSent").GetInt64() > rasBefore);

            // Client-initiated: the echo test goes through our server to host6, the reply through the relay.
            var out1 = Run(Short, "exec", client, "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", Host6);
            Assert.True(Received(out1) >= 3, "client -> host6 ping: " + out1);
            var tcp1 = Run(Short, "exec", client, "--", "sh", "-c", $"echo hello-from-{client} | timeout 10 socat -t 2 - TCP6:[{Host6}]:7007");
            Assert.Contains($"hello-from-{client}", tcp1.Stdout);

            // Native-initiated: host6 -> relay -> indirect bubble through our server -> client.
            var out2 = Run(Short, "exec", "host6", "--", "ping", "-6", "-n", "-c", "4", "-i", "0.3", "-W", "2", address);
            Assert.True(Received(out2) >= 3, "host6 -> client ping: " + out2);
            MustRun(Short, "start", client, "tcp-echo", "--", "socat", $"TCP6-LISTEN:7008,bind=[{address}],fork,reuseaddr", "EXEC:cat");
            Thread.Sleep(300);
            var tcp2 = Run(Short, "exec", "host6", "--", "sh", "-c", $"echo hello-to-{client} | timeout 10 socat -t 2 - TCP6:[{address}]:7008");
            Assert.Contains($"hello-to-{client}", tcp2.Stdout);

            AssertCountersAddUp(Status());
        }
        finally
        {
            Run(Short, "stop", client, "tcp-echo");
            Run(Short, "miredo-stop", client, "client");
        }
    }

    [SkippableFact]
    public void A_million_garbage_datagrams_leave_the_daemon_answering_with_counters_that_add_up()
    {
        lab.Require();
        StartServerAndRelay();
        string loadgen = LabSession.LoadGen;
        long before = Status().GetProperty("counters").GetProperty("received").GetInt64();
        var garbage = Run(Long, "exec", "host4", "--", loadgen, "--server", "198.18.0.10", "--garbage", "1000000");
        Assert.True(garbage.ExitCode == 0, garbage.ToString());

        var status = Status();
        output.WriteLine(status.GetProperty("counters").ToString());
        Assert.Equal("running", status.GetProperty("state").GetString());
        long received = status.GetProperty("counters").GetProperty("received").GetInt64() - before;
        // UDP may drop under load before the server sees a datagram; nearly all must have arrived.
        Assert.True(received > 900_000, $"only {received} of 1000000 datagrams reached the server");
        AssertCountersAddUp(status);

        var verify = Run(Long, "exec", "host4", "--", loadgen, "--server", "198.18.0.10", "--sources", "16", "--verify-only");
        Assert.True(verify.ExitCode == 0, "the server no longer answers RS correctly: " + verify);
    }
}
