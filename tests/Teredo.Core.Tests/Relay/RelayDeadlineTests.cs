using FsCheck.Xunit;
using Teredo.Addressing;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Relay;
using Teredo.Tests.Support;
using Teredo.Wire;
using Xunit.Abstractions;

namespace Teredo.Tests.Relay;

/// <summary>
/// The relay's <see cref="TeredoRelayEngine.NextDeadlineMs"/>: a host that calls the timer only at the deadline
/// (the clock jumps straight to it) sees exactly the packets, at exactly the moments, that a host polling
/// every 10 ms sees; the deadline is never in the past once a call returns; an idle relay never wakes.
/// </summary>
public class RelayDeadlineTests(ITestOutputHelper output)
{
    private static readonly Ipv4Address Server = new(198, 18, 0, 10);
    private static readonly Ipv6Address Native = Ipv6Address.Parse("2001:db8:1::100");
    private const int Peers = 5;
    private const long Step = 10;

    private static Ipv4Endpoint Mapping(int peer) => new(new Ipv4Address(198, 18, 2, (byte)(1 + peer)), (ushort)(40000 + peer));
    private static Ipv6Address PeerAddress(int peer) => TeredoAddress.Create(Server, TeredoFlags.None, Mapping(peer)).Address;

    private enum Kind { PacketToPeer, PeerAnswersBubble, PeerSendsData, StrangerBubble }

    private readonly record struct Input(long AtMs, Kind Kind, int Peer);

    /// <summary>Peers 0 to 2 answer when the script says so; the others never do, so their packets are given up.</summary>
    private const int AnsweringPeers = 3;
    private const long ScriptMs = 80_000;

    /// <summary>
    /// Inputs on the 10 ms grid (so the polling host sees each deadline on time), from a seed, over longer than
    /// the 30 s trust lifetime so that trusted peers go stale and are bubbled again.
    /// </summary>
    private static List<Input> Script(int seed, int count)
    {
        var random = new Random(seed);
        var inputs = new List<Input>();
        for (int i = 0; i < count; i++)
        {
            var kind = (Kind)random.Next(4);
            int peer = kind is Kind.PeerAnswersBubble or Kind.PeerSendsData ? random.Next(AnsweringPeers) : random.Next(Peers);
            inputs.Add(new Input(random.Next(0, (int)(ScriptMs / Step)) * Step, kind, peer));
        }
        return [.. inputs.OrderBy(e => e.AtMs)];
    }

    private static TeredoRelayEngine NewRelay(bool behindNat) => new(new RelayOptions
    {
        OwnAddress = Ipv6Address.Parse("2001:db8:1::20"),
        NonceKey = new byte[32],
        BehindNat = behindNat,
        MaxQueuedPerPeer = 4,
    });

    private static void Deliver(TeredoRelayEngine relay, Input input, ushort sequence, IPacketOutput sink)
    {
        var peer = PeerAddress(input.Peer);
        switch (input.Kind)
        {
            case Kind.PacketToPeer:
                relay.OnDevicePacket(input.AtMs, TeredoRelayEngine.TunDevice, Echo(Native, peer, sequence), sink);
                break;
            case Kind.PeerAnswersBubble:
                var bubble = new byte[Bubble.Length];
                Bubble.Emit(bubble, peer, relay.NonceAddress(peer));
                relay.OnDatagram(input.AtMs, TeredoRelayEngine.UdpPort, Mapping(input.Peer), bubble, sink);
                break;
            case Kind.PeerSendsData:
                relay.OnDatagram(input.AtMs, TeredoRelayEngine.UdpPort, Mapping(input.Peer), Echo(peer, Native, sequence), sink);
                break;
            default:
                // Claims the peer's address from elsewhere: dropped, and must not move any timer.
                var stranger = new byte[Bubble.Length];
                Bubble.Emit(stranger, peer, Ipv6Address.Parse("fe80::1"));
                relay.OnDatagram(input.AtMs, TeredoRelayEngine.UdpPort, new Ipv4Endpoint(new Ipv4Address(198, 18, 7, 7), 7), stranger, sink);
                break;
        }
    }

    private static byte[] Echo(Ipv6Address src, Ipv6Address dst, ushort sequence)
    {
        var p = new byte[56];
        Icmpv6Echo.Emit(p, src, dst, true, 7, sequence, new byte[8]);
        return p;
    }

    /// <summary>Each input with its sequence number (its place in the script), on the shared drivers' timeline.</summary>
    private static List<(long AtMs, (Input Input, ushort Sequence))> Timed(List<Input> inputs) =>
        [.. inputs.Select((e, i) => (e.AtMs, (e, (ushort)i)))];

    private static DeadlineDrivers.Run Polling(List<Input> inputs, bool behindNat, long endMs)
    {
        var relay = NewRelay(behindNat);
        var sink = new ListSink();
        return DeadlineDrivers.Polling(relay, sink, Timed(inputs), endMs, Step, (e, _) => Deliver(relay, e.Input, e.Sequence, sink), static (_, _) => { });
    }

    private static DeadlineDrivers.Run Deadlines(List<Input> inputs, bool behindNat, long endMs)
    {
        var relay = NewRelay(behindNat);
        var sink = new ListSink();
        return DeadlineDrivers.Deadlines(relay, sink, Timed(inputs), endMs, (e, _) => Deliver(relay, e.Input, e.Sequence, sink), static (_, _) => { });
    }

    private void AssertSameRun(List<Input> inputs, bool behindNat)
    {
        // Long enough after the last input for every pending peer to be answered or given up.
        const long end = ScriptMs + 20_000;
        var polled = Polling(inputs, behindNat, end);
        var driven = Deadlines(inputs, behindNat, end);
        Assert.Equal(polled.Trace, driven.Trace);
        // Nothing pending at the end: the idle relay asks for no wake-up at all.
        Assert.Equal(long.MaxValue, polled.FinalDeadline);
        Assert.Equal(long.MaxValue, driven.FinalDeadline);
        output.WriteLine($"{inputs.Count} inputs, {driven.Trace.Count} packets: {polled.Wakeups} polled timer calls, {driven.Wakeups} at deadlines");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void Timers_at_the_deadline_only_send_what_polling_every_10_ms_sends(int seed, bool behindNat) =>
        AssertSameRun(Script(seed, 60), behindNat);

    [Property(MaxTest = 40)]
    public void Any_script_gives_the_same_packets_at_the_same_moments_either_way(int seed, bool behindNat) =>
        AssertSameRun(Script(seed, 1 + Math.Abs(seed % 80)), behindNat);

    /// <summary>A new relay, which asks for no wake-up, then a packet for <paramref name="peer"/>: its first bubble.</summary>
    private static TeredoRelayEngine Knocking(long atMs, int peer, ListSink sink)
    {
        var relay = NewRelay(behindNat: false);
        Assert.Equal(long.MaxValue, relay.NextDeadlineMs);
        Deliver(relay, new Input(atMs, Kind.PacketToPeer, peer), 1, sink);
        Assert.Single(sink.Take());
        return relay;
    }

    [Fact]
    public void Bubbles_and_give_ups_fall_exactly_on_the_deadline()
    {
        var sink = new ListSink();
        var relay = Knocking(1_000, 0, sink);
        long[] expected = [3_000, 5_000, 7_000, 9_000];
        foreach (long at in expected)
        {
            Assert.Equal(at, relay.NextDeadlineMs);
            relay.OnTimer(at - 1, sink);
            Assert.Empty(sink.Take());
            relay.OnTimer(at, sink);
            Assert.Single(sink.Take()); // three repetitions, then the ICMPv6 error of the give-up
        }
        Assert.Null(relay.Peers.Find(PeerAddress(0)));
        Assert.Equal(long.MaxValue, relay.NextDeadlineMs);
    }

    [Fact]
    public void An_idle_relay_or_one_with_only_trusted_peers_never_asks_to_wake()
    {
        var sink = new ListSink();
        var relay = Knocking(0, 1, sink);
        // A peer proves itself at once: the answer to the first bubble empties the pending list.
        Assert.Equal(2_000, relay.NextDeadlineMs);
        Deliver(relay, new Input(50, Kind.PeerAnswersBubble, 1), 0, sink);
        Assert.Equal(long.MaxValue, relay.NextDeadlineMs);
        // Traffic both ways with a trusted peer sets no timer.
        for (int i = 0; i < 100; i++)
        {
            Deliver(relay, new Input(100 + i, Kind.PacketToPeer, 1), (ushort)i, sink);
            Deliver(relay, new Input(100 + i, Kind.PeerSendsData, 1), (ushort)i, sink);
        }
        Assert.Equal(long.MaxValue, relay.NextDeadlineMs);
        Assert.Equal(201, sink.Take().Count); // the released packet, then 100 each way
    }
}
