using Teredo.Client;
using Teredo.Net;
using Teredo.Tests.Support;
using Xunit.Abstractions;

namespace Teredo.Tests.Client;

/// <summary>
/// The client's <see cref="TeredoClientEngine.NextDeadlineMs"/>: a host that calls the timer only at the
/// deadline (the clock jumping straight to it) sees the same packets and events, in the same order, as a host
/// polling every 10 ms, each at the same moment or earlier (polling rounds a randomized refresh up to its
/// grid); no call leaves the deadline in the past (<see cref="ClientHarness.AdvanceByDeadlines"/> checks it);
/// a qualified client with nothing to do wakes only for its refresh.
/// </summary>
public class ClientDeadlineTests(ITestOutputHelper output)
{
    private delegate void Scenario(ClientHarness h, Action<long> advance);

    private static ClientHarness NewHarness(NatBehaviour nat, int seed, Func<ClientOptions, ClientOptions>? configure) =>
        new(nat, configure, random: new ScriptedRandom(seed));

    private void AssertSameRun(NatBehaviour nat, int seed, Scenario scenario, Func<ClientOptions, ClientOptions>? configure = null)
    {
        var polled = NewHarness(nat, seed, configure);
        polled.Start();
        scenario(polled, ms => polled.Advance(ms, 10));

        // No Start: a new engine is due at once, and its first timer starts qualification.
        var driven = NewHarness(nat, seed, configure);
        driven.DeadlineHost = true;
        Assert.Equal(long.MinValue, driven.Client.NextDeadlineMs);
        driven.AdvanceByDeadlines(0);
        scenario(driven, driven.AdvanceByDeadlines);

        Assert.Equal(Describe(polled), Describe(driven));
        for (int i = 0; i < polled.Trace.Count; i++)
            Assert.True(driven.Trace[i].AtMs <= polled.Trace[i].AtMs, $"packet {i}: {driven.Trace[i].AtMs} by deadline, {polled.Trace[i].AtMs} polled");
        Assert.Equal(polled.Events.Select(e => (e.Kind, e.State, e.Address, e.Previous, e.NatType, e.Value)),
            driven.Events.Select(e => (e.Kind, e.State, e.Address, e.Previous, e.NatType, e.Value)));
        Assert.Equal(polled.Client.State, driven.Client.State);
        Assert.NotEmpty(driven.Trace);
        output.WriteLine($"{nat}, seed {seed}: {driven.Trace.Count} packets, {driven.Events.Count} events; "
            + $"{polled.TimerCalls} polled timer calls, {driven.TimerCalls} at deadlines");
    }

    private static List<string> Describe(ClientHarness h) =>
        [.. h.Trace.Select(p => $"{p.Route} {p.To} {Convert.ToHexString(p.Bytes)}")];

    /// <summary>Qualification, maintenance, the server going away (retries, loss, off line, retries) and coming back.</summary>
    private static void QualifyRefreshLoseAndRecover(ClientHarness h, Action<long> advance)
    {
        advance(100_000);
        h.ServerUp = false;
        advance(100_000);
        h.ServerUp = true;
        advance(80_000);
    }

    /// <summary>Bubbles to a Teredo peer that never answers (give-up, ICMPv6), the echo test toward a native peer, a peer that answers late.</summary>
    private static void PeersThatAnswerOrNot(ClientHarness h, Action<long> advance)
    {
        advance(15_000);
        var silent = Packets.PeerAddress(false, new Ipv4Endpoint(new Ipv4Address(198, 18, 6, 1), 42000), ClientHarness.ServerPrimary);
        h.FromTun(Packets.Echo(h.Client.Address.Address, silent));
        advance(3_000);
        h.FromTun(Packets.Echo(h.Client.Address.Address, Packets.Native));
        advance(5_000);
        var peer = Packets.PeerAddress();
        h.FromTun(Packets.Echo(h.Client.Address.Address, peer));
        advance(3_000);
        // The peer's bubble from its embedded mapping proves it: the queued packet leaves.
        h.Receive(Packets.PeerMapping, Packets.Bubble(peer, h.Client.Address.Address));
        // The pending list emptied before that peer's next knock was due; a new pending peer after that
        // moment must not inherit it (a deadline in the past).
        advance(2_500);
        var another = Packets.PeerAddress(false, new Ipv4Endpoint(new Ipv4Address(198, 18, 6, 2), 42001), ClientHarness.ServerPrimary);
        h.FromTun(Packets.Echo(h.Client.Address.Address, another));
        advance(40_000);
        h.FromTun(Packets.Echo(h.Client.Address.Address, peer, sequence: 2));
        advance(20_000);
    }

    [Theory]
    [InlineData(NatBehaviour.None, 1)]
    [InlineData(NatBehaviour.FullCone, 2)]
    [InlineData(NatBehaviour.PortRestricted, 3)]
    [InlineData(NatBehaviour.Symmetric, 4)]
    public void Qualification_refresh_loss_and_recovery_are_the_same_at_deadlines_as_polled(NatBehaviour nat, int seed) =>
        AssertSameRun(nat, seed, QualifyRefreshLoseAndRecover);

    [Theory]
    [InlineData(NatBehaviour.PortRestricted, 5)]
    [InlineData(NatBehaviour.FullCone, 6)]
    public void Bubbles_echo_tests_and_queue_expiry_are_the_same_at_deadlines_as_polled(NatBehaviour nat, int seed) =>
        AssertSameRun(nat, seed, PeersThatAnswerOrNot);

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void Discovery_and_refresh_interval_determination_are_the_same_at_deadlines_as_polled(int seed) =>
        AssertSameRun(NatBehaviour.PortRestricted, seed, (_, advance) => advance(700_000),
            o => o with
            {
                LocalDiscovery = true,
                LocalNetwork = (new Ipv4Address(10, 2, 0, 0), 24),
                RefreshDetermination = true,
            });

    [Fact]
    public void Strict_symmetric_refusal_and_its_offline_retries_are_the_same_at_deadlines_as_polled() =>
        AssertSameRun(NatBehaviour.Symmetric, 9, (_, advance) => advance(200_000), o => o with { StrictSymmetric = true });

    [Fact]
    public void A_qualified_client_with_nothing_to_do_wakes_only_for_its_refresh()
    {
        var h = NewHarness(NatBehaviour.PortRestricted, 10, null);
        h.AdvanceByDeadlines(15_000); // qualification, and the cone probe's N × T for the NAT type
        Assert.Equal(ClientState.Qualified, h.Client.State);
        Assert.True(h.Client.NatTypeFinal);
        long deadline = h.Client.NextDeadlineMs;
        Assert.Equal(h.Client.LastServerInteractionMs + h.Client.RandomizedRefreshMs, deadline);
        Assert.True(deadline >= h.Client.LastServerInteractionMs + h.Client.RefreshIntervalMs * 3 / 4, $"deadline {deadline}");
        // A refresh cycle costs one timer call (the RS; its answer comes as a packet).
        int before = h.TimerCalls;
        h.AdvanceByDeadlines(deadline - h.Now);
        Assert.Equal(before + 1, h.TimerCalls);
        Assert.True(h.Client.NextDeadlineMs - h.Now >= h.Client.RefreshIntervalMs * 3 / 4);
    }

    [Fact]
    public void An_offline_client_wakes_only_to_retry()
    {
        var h = NewHarness(NatBehaviour.PortRestricted, 11, null);
        h.ServerUp = false;
        h.AdvanceByDeadlines(12_000); // N × T without an answer
        Assert.Equal(ClientState.Offline, h.Client.State);
        // The primary probe gave up at 12 s (sent at 0, 4 and 8 s): nothing more until the retry.
        Assert.Equal(12_000 + h.Client.Options.OfflineRetryMs, h.Client.NextDeadlineMs);
    }
}
