using FsCheck.Xunit;
using Teredo.Common;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Ipv4Peer;
using Teredo.P2p.Ipv6Peer;
using Teredo.Tests.P2p.Ipv4Peer;
using Teredo.Tests.Support;
using Xunit.Abstractions;

namespace Teredo.Tests.P2p;

/// <summary>
/// The P2P engines' <c>NextDeadlineMs</c>: a host that calls the timer only at the deadline sees exactly the
/// packets, events and state changes, at exactly the moments, that a host polling every 10 ms sees. For the
/// v6peer that includes the coordinators' health windows and hold-downs (a coordinator taken out late comes
/// back late, and flows go elsewhere meanwhile); for the v4peer the sweep and the use-report events.
/// </summary>
public class P2pDeadlineTests(ITestOutputHelper output)
{
    private const long Step = 10;

    private static List<(long AtMs, int Kind, int Index)> Script(int seed, int count, int kinds, long lengthMs)
    {
        var random = new Random(seed);
        var inputs = new List<(long, int, int)>();
        for (int i = 0; i < count; i++) inputs.Add((random.Next(0, (int)(lengthMs / Step)) * Step, random.Next(kinds), random.Next(4)));
        return [.. inputs.OrderBy(e => e.Item1)];
    }

    private static string Counters<TCounter>(CounterSet<TCounter> counters) where TCounter : struct, Enum =>
        string.Join(",", CounterSet<TCounter>.All.Select(c => $"{c}={counters[c]}"));

    // ---- the IPv6 peer ----

    private static readonly Ipv4Address[] Destinations = [new(198, 18, 100, 1), new(198, 18, 100, 2), new(198, 18, 100, 3), new(198, 18, 100, 4)];
    private static readonly Ipv6Address PooledFirst = Ipv6Address.Parse("2001:db8:100::2");
    private static readonly Ipv4Address ProbeTarget = new(198, 18, 0, 200);

    private static Ipv6PeerOptions V6Options(bool probes)
    {
        var options = Ipv6PeerPackets.Options(coordinators: 3);
        options.ResponseWindowMs = 4_000;
        options.RetryAfterMs = 15_000;
        options.MappingIdleTimeoutMs = 20_000;
        if (probes)
        {
            options.ProbeTarget = ProbeTarget;
            options.ProbeIntervalMs = 3_000;
        }
        return options;
    }

    /// <summary>Kind 0: the client sends to a destination; 1: a coordinator answers for one; 2: a coordinator answers a probe.</summary>
    private static void DeliverV6(Ipv6PeerEngine engine, ListSink sink, (int Kind, int Index) input, long now)
    {
        var d = Destinations[input.Index];
        int k = input.Index % 3;
        byte[] packet = input.Kind switch
        {
            0 => Ipv6PeerPackets.Udp(Ipv6PeerPackets.ClientAddr, Ipv6PeerPackets.Nat64Of(d)),
            1 => Ipv6PeerPackets.Udp(Ipv6PeerPackets.TeredoOf(Ipv6PeerPackets.Coordinators[k], d), PooledFirst, 53, 40000),
            _ => Ipv6PeerPackets.Echo(Ipv6PeerPackets.TeredoOf(Ipv6PeerPackets.Coordinators[k], ProbeTarget), engine.Options.OwnAddress, request: false),
        };
        engine.OnDevicePacket(now, Ipv6PeerEngine.TunDevice, packet, sink);
    }

    /// <summary>The ring's state whenever it changed: when a coordinator went down or up is part of the behaviour.</summary>
    private static Action<long, List<string>> RingRecorder(Ipv6PeerEngine engine)
    {
        string last = "";
        return (now, trace) =>
        {
            string ring = string.Join(" ", engine.Ring.Coordinators.Select(c => $"{c.Healthy}/{c.DownSinceMs}/{c.TimesDown}"));
            if (ring != last) trace.Add($"{now} ring {ring}");
            last = ring;
        };
    }

    private void AssertSameV6Run(int seed, int count, bool probes)
    {
        const long length = 90_000, end = length + 40_000;
        var script = Script(seed, count, probes ? 3 : 2, length).Select(e => (e.AtMs, (e.Kind, e.Index))).ToList();
        var polledEngine = new Ipv6PeerEngine(V6Options(probes));
        var polledSink = new ListSink();
        var polled = DeadlineDrivers.Polling(polledEngine, polledSink, script, end, Step,
            (input, now) => DeliverV6(polledEngine, polledSink, input, now), RingRecorder(polledEngine));
        var drivenEngine = new Ipv6PeerEngine(V6Options(probes));
        var drivenSink = new ListSink();
        var driven = DeadlineDrivers.Deadlines(drivenEngine, drivenSink, script, end,
            (input, now) => DeliverV6(drivenEngine, drivenSink, input, now), RingRecorder(drivenEngine));
        Assert.Equal(polled.Trace, driven.Trace);
        Assert.Equal(Counters(polledEngine.Counters), Counters(drivenEngine.Counters));
        output.WriteLine($"v6peer, {script.Count} inputs, probes {probes}: {driven.Trace.Count} trace lines, {polled.Wakeups} polled timer calls, {driven.Wakeups} at deadlines");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public void V6peer_timers_at_the_deadline_do_what_polling_every_10_ms_does(int seed, bool probes) => AssertSameV6Run(seed, 80, probes);

    [Property(MaxTest = 25)]
    public void V6peer_any_script_runs_the_same_either_way(int seed, bool probes) => AssertSameV6Run(seed, 1 + Math.Abs(seed % 60), probes);

    [Fact]
    public void V6peer_deadline_is_the_close_of_the_response_window_of_a_coordinator_awaiting_an_answer()
    {
        var options = V6Options(probes: false);
        var engine = new Ipv6PeerEngine(options);
        var sink = new ListSink();
        engine.OnTimer(0, sink);
        Assert.Equal(1_000, engine.NextDeadlineMs); // the sweep
        engine.OnDevicePacket(500, Ipv6PeerEngine.TunDevice, Ipv6PeerPackets.Udp(Ipv6PeerPackets.ClientAddr, Ipv6PeerPackets.Nat64Of(Destinations[0])), sink);
        var sent = Assert.Single(sink.Take());
        Assert.True(Teredo.Wire.Ipv6Packet.TryParse(sent.Bytes, out var ip));
        int k = engine.Ring.IndexOf(ip.Destination);
        Assert.True(k >= 0);
        for (long t = 1_000; t <= 4_000; t += 1_000) engine.OnTimer(t, sink);
        Assert.Equal(500 + options.ResponseWindowMs, engine.NextDeadlineMs);
        engine.OnTimer(500 + options.ResponseWindowMs, sink);
        Assert.False(engine.Ring.Coordinators[k].Healthy);
        Assert.Equal(500 + options.ResponseWindowMs, engine.Ring.Coordinators[k].DownSinceMs);
        // Held down: back exactly when the hold-down ends, which the deadline names once the sweeps pass it.
        for (long t = 5_000; t < 500 + options.ResponseWindowMs + options.RetryAfterMs; t += 1_000) engine.OnTimer(t, sink);
        Assert.Equal(500 + options.ResponseWindowMs + options.RetryAfterMs, engine.NextDeadlineMs);
        engine.OnTimer(engine.NextDeadlineMs, sink);
        Assert.True(engine.Ring.Coordinators[k].Healthy);
    }

    // ---- the IPv4 peer ----

    private static Ipv4PeerOptions V4Options() => new()
    {
        LocalAddress = Ipv4PeerHarness.Local,
        AllowedDestinations = [(new Ipv4Address(198, 18, 0, 0), 15)],
        LeaseGraceSeconds = 2,
        RelayRouteIdleSeconds = 20,
        UseReportIntervalMs = 5_000,
    };

    private static readonly Ipv4Address[] Hosts = [new(198, 18, 0, 100), new(198, 18, 0, 101), new(198, 18, 0, 102), new(198, 18, 0, 103)];

    /// <summary>Kind 0: a lease granted (8 s); 1: a relay's echo request for it; 2: its renewal; 3: its end; 4: the session drops and comes back.</summary>
    private static void DeliverV4(Ipv4PeerEngine engine, ListSink sink, (int Kind, int Index) input, long now)
    {
        var address = Ipv4PeerHarness.T(Hosts[input.Index]);
        switch (input.Kind)
        {
            case 0:
                engine.OnLeaseGranted(now, new LeaseGranted(address, 8, []), sink);
                break;
            case 1:
                var relay = new Ipv4Endpoint(new Ipv4Address(198, 18, 0, (byte)(30 + input.Index)), 3545);
                var from = Ipv6Address.Parse($"2001:db8:6::{input.Index + 1}");
                engine.OnDatagram(now, Ipv4PeerEngine.UdpPort, relay, Ipv4PeerHarness.EchoRequest(address, 1, from), sink);
                break;
            case 2:
                engine.OnLeaseRenewed(now, new LeaseRenewed(address, 8));
                break;
            case 3:
                engine.OnLeaseEnded(address);
                break;
            default:
                engine.OnDisconnected();
                engine.OnWelcome(now, Ipv4PeerHarness.Welcome);
                break;
        }
    }

    /// <summary>The events, and what the daemon's handler would take from the engine for each.</summary>
    private static Action<long, List<string>> V4Recorder(Ipv4PeerEngine engine)
    {
        var report = new List<LeaseUse>();
        var refused = new List<Ipv6Address>();
        return (now, trace) =>
        {
            while (engine.TryTakeEvent(out var e))
            {
                report.Clear();
                refused.Clear();
                if (e == Ipv4PeerEvent.ReportDue) engine.CollectUseReport(now, report);
                else engine.TakeRefusedLeases(refused);
                trace.Add($"{now} {e} {string.Join(";", report)} {string.Join(";", refused)}");
            }
            trace.Add($"{now} held {engine.Held.Count} routes {engine.Relays.Count}");
        };
    }

    private void AssertSameV4Run(int seed, int count)
    {
        const long length = 60_000, end = length + 40_000;
        var script = Script(seed, count, 5, length).Select(e => (e.AtMs, (e.Kind, e.Index))).ToList();
        var polledEngine = new Ipv4PeerEngine(V4Options());
        var polledSink = new ListSink();
        polledEngine.OnWelcome(0, Ipv4PeerHarness.Welcome);
        var polled = DeadlineDrivers.Polling(polledEngine, polledSink, script, end, Step,
            (input, now) => DeliverV4(polledEngine, polledSink, input, now), Distinct(V4Recorder(polledEngine)), WithoutIdentification);
        var drivenEngine = new Ipv4PeerEngine(V4Options());
        var drivenSink = new ListSink();
        drivenEngine.OnWelcome(0, Ipv4PeerHarness.Welcome);
        var driven = DeadlineDrivers.Deadlines(drivenEngine, drivenSink, script, end,
            (input, now) => DeliverV4(drivenEngine, drivenSink, input, now), Distinct(V4Recorder(drivenEngine)), WithoutIdentification);
        Assert.Equal(polled.Trace, driven.Trace);
        Assert.Equal(Counters(polledEngine.Counters), Counters(drivenEngine.Counters));
        output.WriteLine($"v4peer, {script.Count} inputs: {driven.Trace.Count} trace lines, {polled.Wakeups} polled timer calls, {driven.Wakeups} at deadlines");
    }

    /// <summary>
    /// A packet in hex, an IPv4 header's identification and header checksum left out: each translator starts
    /// its identifications at a random value (so two engines differ there by design, not by timing).
    /// </summary>
    private static string WithoutIdentification(byte[] packet)
    {
        if (packet.Length < 20 || packet[0] >> 4 != 4) return Convert.ToHexString(packet);
        var copy = (byte[])packet.Clone();
        copy[4] = copy[5] = copy[10] = copy[11] = 0;
        return Convert.ToHexString(copy);
    }

    /// <summary>Keeps a recorder's lines only when they differ from its previous ones (the held/route counts are state, not news).</summary>
    private static Action<long, List<string>> Distinct(Action<long, List<string>> recorder)
    {
        // The state before the first call (after the welcome), so that only changes are news.
        var first = new List<string>();
        recorder(0, first);
        string last = first[^1][(first[^1].IndexOf(' ') + 1)..];
        return (now, trace) =>
        {
            var lines = new List<string>();
            recorder(now, lines);
            // The state line without its time: a repeat of the same state is not news.
            string state = lines[^1][(lines[^1].IndexOf(' ') + 1)..];
            trace.AddRange(lines.Take(lines.Count - 1));
            if (state != last) trace.Add(lines[^1]);
            last = state;
        };
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void V4peer_timers_at_the_deadline_do_what_polling_every_10_ms_does(int seed) => AssertSameV4Run(seed, 80);

    [Property(MaxTest = 25)]
    public void V4peer_any_script_runs_the_same_either_way(int seed) => AssertSameV4Run(seed, 1 + Math.Abs(seed % 60));

    [Fact]
    public void V4peer_reports_only_while_a_session_is_up_and_the_refused_leases_are_signalled_once()
    {
        var engine = new Ipv4PeerEngine(V4Options());
        var sink = new ListSink();
        Assert.Equal(long.MaxValue, engine.NextDeadlineMs); // no session yet: nothing to sweep or report
        engine.OnWelcome(0, Ipv4PeerHarness.Welcome);
        Assert.Equal(1_000, engine.NextDeadlineMs);
        for (long t = 1_000; t < 5_000; t += 1_000) engine.OnTimer(t, sink);
        Assert.Equal(5_000, engine.NextDeadlineMs);
        engine.OnTimer(5_000, sink);
        Assert.True(engine.TryTakeEvent(out var e));
        Assert.Equal(Ipv4PeerEvent.ReportDue, e);
        Assert.False(engine.TryTakeEvent(out _));

        // Its own host's address is never a lease it carries: refused, signalled once until taken.
        engine.OnLeaseGranted(5_001, new LeaseGranted(Ipv4PeerHarness.T(Ipv4PeerHarness.Local), 30, []), sink);
        engine.OnLeaseGranted(5_002, new LeaseGranted(Ipv4PeerHarness.T(Ipv4PeerHarness.Local), 30, []), sink);
        Assert.True(engine.TryTakeEvent(out e));
        Assert.Equal(Ipv4PeerEvent.LeaseRefused, e);
        Assert.False(engine.TryTakeEvent(out _));
        var refused = new List<Ipv6Address>();
        engine.TakeRefusedLeases(refused);
        Assert.Equal(2, refused.Count);

        engine.OnDisconnected();
        for (long t = 6_000; t <= 12_000; t += 1_000) engine.OnTimer(t, sink);
        Assert.False(engine.TryTakeEvent(out _));
        Assert.Equal(13_000, engine.NextDeadlineMs); // the sweep goes on (the static address stays); no report
    }
}
