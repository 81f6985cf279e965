using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Teredo.Net;
using Teredo.P2p.Control;

namespace Teredo.Tests.P2p;

/// <summary>No byte string makes the control codec throw, and parse(emit(x)) == x for every message.</summary>
public class ControlPropertyTests
{
    [Property(MaxTest = 3000)]
    public bool No_byte_string_throws(byte[] bytes)
    {
        ReadOnlySpan<byte> span = bytes ?? [];
        ControlFrame.TryRead(span, out _, out var body, out _);
        ParseAll(span);
        ParseAll(body);
        return true;
    }

    [Property(MaxTest = 3000)]
    public bool No_mutated_frame_throws(int seed, byte[] noise)
    {
        var random = new Random(seed);
        byte[][] frames =
        [
            ControlFrame.ToArray(new HelloMessage(1, 1, 42, new Ipv4Address(10, 0, 0, 2), 10, 0, "token")),
            ControlFrame.ToArray(new LeaseGranted(ControlProtocolTests.Target, 30, [new(ControlProtocolTests.Relay, ControlProtocolTests.Nonce)])),
            ControlFrame.ToArray(new LeaseUseReport([new LeaseUse(ControlProtocolTests.Target, 1, 2)])),
            ControlFrame.ToArray(new GoodbyeMessage(GoodbyeReason.Timeout, "x")),
        ];
        byte[] frame = (byte[])frames[random.Next(frames.Length)].Clone();
        foreach (byte b in noise ?? []) frame[random.Next(frame.Length)] ^= b;
        if (ControlFrame.TryRead(frame, out _, out var body, out _) == FrameReadStatus.Complete) ParseAll(body);
        return true;
    }

    private static void ParseAll(ReadOnlySpan<byte> body)
    {
        HelloMessage.TryParseBody(body, out _);
        WelcomeMessage.TryParseBody(body, out _);
        KeepaliveMessage.TryParseBody(body, out _);
        BubbleNotification.TryParseBody(body, out _);
        LeaseGranted.TryParseBody(body, out _);
        LeaseRenewed.TryParseBody(body, out _);
        LeaseReleased.TryParseBody(body, out _);
        LeaseRevoked.TryParseBody(body, out _);
        LeaseUseReport.TryParseBody(body, out _);
        GoodbyeMessage.TryParseBody(body, out _);
        ErrorMessage.TryParseBody(body, out _);
    }

    private static bool RoundTrips<T>(T message) where T : struct, IControlMessage<T> =>
        ControlFrame.TryParse<T>(ControlFrame.ToArray(message), out var parsed) && parsed.Equals(message);

    private static Ipv6Address V6(ulong a, ulong b) => new(a, b);

    private static string Text(string? s) => new string((s ?? "").Take(80).ToArray()).Replace('\uFFFD', '?') is var t && System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(t)) == t ? t : "";

    [Property]
    public bool Hello_round_trips(byte min, byte span, ulong idHigh, ulong idLow, uint local, uint capacity, uint bandwidth, string? token) =>
        RoundTrips(new HelloMessage((byte)Math.Max(min, (byte)1), (byte)Math.Min(255, Math.Max(min, (byte)1) + span % 4), new UInt128(idHigh, idLow),
            new Ipv4Address(local), capacity, bandwidth, Text(token)));

    [Property]
    public bool Welcome_round_trips(byte version, uint s, ulong prefix, ulong a, ulong b, uint suffix, ushort idle, ushort keepalive, ushort timeout, uint max) =>
        RoundTrips(new WelcomeMessage((byte)Math.Max(version, (byte)1), new Ipv4Address(s), prefix, V6(a, b), suffix & 0xFF_FFFF, idle,
            (ushort)Math.Max(keepalive, (ushort)1), timeout, max));

    [Property]
    public bool Keepalive_round_trips(uint sequence) => RoundTrips(new KeepaliveMessage(sequence));

    [Property]
    public bool Bubble_notification_round_trips(uint relay, ushort port, ulong a, ulong b, ulong c, ulong d) =>
        RoundTrips(new BubbleNotification(new Ipv4Endpoint(new Ipv4Address(relay), port), V6(a, b), V6(c, d)));

    [Property]
    public bool Lease_granted_round_trips(ulong a, ulong b, ushort idle, uint[]? relays) =>
        RoundTrips(new LeaseGranted(V6(a, b), idle, (relays ?? []).Take(LeaseGranted.MaxRelays)
            .Select(r => new RelaySighting(new Ipv4Endpoint(new Ipv4Address(r), (ushort)r), V6(0xfe80UL << 48, r))).ToArray()));

    [Property]
    public bool Lease_notices_round_trip(ulong a, ulong b, ushort idle, byte reason)
    {
        var r = (LeaseEndReason)(1 + reason % 5);
        return RoundTrips(new LeaseRenewed(V6(a, b), idle)) && RoundTrips(new LeaseReleased(V6(a, b), r)) && RoundTrips(new LeaseRevoked(V6(a, b), r));
    }

    [Property]
    public bool Lease_use_round_trips(ulong[]? addresses, uint packets, ushort idle) =>
        RoundTrips(new LeaseUseReport((addresses ?? []).Take(LeaseUseReport.MaxEntries).Select(x => new LeaseUse(V6(x, ~x), packets ^ (uint)x, idle)).ToArray()));

    [Property]
    public bool Goodbye_and_error_round_trip(byte reason, ushort code, string? text) =>
        RoundTrips(new GoodbyeMessage((GoodbyeReason)reason, Text(text))) && RoundTrips(new ErrorMessage((ControlErrorCode)code, Text(text)));

    [Fact]
    public void Long_text_is_cut_to_255_bytes_at_a_character_boundary()
    {
        var frame = ControlFrame.ToArray(new GoodbyeMessage(GoodbyeReason.Shutdown, new string('é', 200)));
        Assert.True(ControlFrame.TryParse<GoodbyeMessage>(frame, out var parsed));
        Assert.Equal(new string('é', 127), parsed.Text);
    }
}
