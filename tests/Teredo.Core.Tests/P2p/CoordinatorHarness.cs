using Teredo.Addressing;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;
using Teredo.Wire;

namespace Teredo.Tests.P2p;

/// <summary>Records what the engine sent to each session and which sessions it closed.</summary>
internal sealed class RecordingSink : ICoordinatorSink
{
    public readonly List<(long Session, byte[] Frame)> Sent = [];
    public readonly HashSet<long> Closed = [];

    public bool Send(long session, ReadOnlySpan<byte> frame)
    {
        if (Closed.Contains(session)) return false;
        Sent.Add((session, frame.ToArray()));
        return true;
    }

    public void Close(long session) => Closed.Add(session);

    public List<T> Of<T>(long session) where T : struct, IControlMessage<T>
    {
        var result = new List<T>();
        foreach (var (s, f) in Sent)
            if (s == session && ControlFrame.TryParse<T>(f, out var m)) result.Add(m);
        return result;
    }

    public List<T> All<T>() where T : struct, IControlMessage<T>
    {
        var result = new List<T>();
        foreach (var (_, f) in Sent)
            if (ControlFrame.TryParse<T>(f, out var m)) result.Add(m);
        return result;
    }
}

internal sealed class MemoryJournal : IStaticAssignmentJournal
{
    public readonly List<KeyValuePair<UInt128, uint>> Records = [];

    public void Record(UInt128 identity, uint suffix) => Records.Add(new(identity, suffix));
}

/// <summary>An engine with a fake clock, a recording sink and helpers for hellos, bubbles and use reports.</summary>
internal sealed class CoordinatorHarness
{
    public static readonly Ipv4Address S = Ipv4Address.Parse("198.18.0.30");
    public static readonly Ipv4Endpoint RelayEndpoint = new(Ipv4Address.Parse("198.18.0.20"), 3544);
    public static readonly Ipv6Address Nonce = Ipv6Address.Parse("fe80::8000:f227:bec3:51c4");

    public readonly RecordingSink Sink = new();
    public readonly MemoryJournal Journal;
    public readonly CoordinatorEngine Engine;
    public long Now = 1_000_000;

    public CoordinatorHarness(Func<CoordinatorOptions, CoordinatorOptions>? configure = null, MemoryJournal? journal = null)
    {
        Journal = journal ?? new MemoryJournal();
        var options = new CoordinatorOptions { Address = S, AllowDestinations = [new(Ipv4Address.Parse("198.18.0.0"), 15)] };
        Engine = new CoordinatorEngine(configure?.Invoke(options) ?? options, Sink, Journal, journal?.Records.ToList());
    }

    public static Ipv6Address T(Ipv4Address d) => CoordinatorAddress.Dynamic(S, d).ToIpv6();

    public static Ipv4Address D(int i) => new(0x0800_0000u + (uint)i); // 8.0.0.0 + i: global unicast

    public void Message<T>(long session, T message) where T : struct, IControlMessage<T>
    {
        var frame = ControlFrame.ToArray(message);
        Assert.Equal(FrameReadStatus.Complete, ControlFrame.TryRead(frame, out var type, out var body, out _));
        Engine.OnMessage(session, Now, type, body);
    }

    public WelcomeMessage Join(long session, UInt128 identity, uint capacity = 1000, string local = "10.3.0.2", string token = "")
    {
        Message(session, new HelloMessage(1, 1, identity, Ipv4Address.Parse(local), capacity, 0, token));
        var welcome = Sink.Of<WelcomeMessage>(session);
        Assert.Single(welcome);
        return welcome[0];
    }

    public void Bubble(Ipv6Address destination, Ipv4Endpoint? relay = null, Ipv6Address? source = null)
    {
        Span<byte> b = stackalloc byte[Teredo.Wire.Bubble.Length];
        Teredo.Wire.Bubble.Emit(b, source ?? Nonce, destination);
        Engine.OnBubble(Now, relay ?? RelayEndpoint, b);
    }

    public void Use(long session, Ipv6Address address, uint packets, ushort idle = 0) =>
        Message(session, new LeaseUseReport([new LeaseUse(address, packets, idle)]));

    public long Counter(CoordinatorCounter c) => Engine.Counters[c];

    /// <summary>The three sums the counters promise (CoordinatorCounter's summary).</summary>
    public void AssertCountersAddUp()
    {
        long outcomes = 0;
        for (var c = CoordinatorCounter.BubbleIntakeLimited; c <= CoordinatorCounter.BubbleForStaticAddress; c++) outcomes += Counter(c);
        Assert.Equal(Counter(CoordinatorCounter.BubblesReceived), outcomes);
        Assert.Equal(Counter(CoordinatorCounter.BubbleForLease) + Counter(CoordinatorCounter.BubbleLeaseCreated) + Counter(CoordinatorCounter.BubbleForStaticAddress),
            Counter(CoordinatorCounter.NotificationsSent) + Counter(CoordinatorCounter.NotificationsReflectionLimited) + Counter(CoordinatorCounter.NotificationsSessionGone));
        Assert.Equal(Engine.Leases.Count, Counter(CoordinatorCounter.LeasesGranted) - Counter(CoordinatorCounter.LeasesExpired)
            - Counter(CoordinatorCounter.LeasesReleasedByPeer) - Counter(CoordinatorCounter.LeasesDroppedNoOwner) - Counter(CoordinatorCounter.LeasesEvictedUnproven));
        int held = 0;
        foreach (var p in Engine.Peers) held += p.LeaseCount;
        Assert.Equal(Engine.Leases.Count, held);
    }
}
