using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.P2p.Coordinator;
using Teredo.P2p.Ipv4Peer;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;
using Teredo.Wire;

namespace Teredo.Tests.Support;

/// <summary>One IPv4 peer of <see cref="P2pNetwork"/>: its engine, its control session, its Teredo socket and the NAT in front of it.</summary>
public sealed class DonorPeer(long session, UInt128 identity, Ipv4PeerEngine engine, Ipv4Endpoint socket, SimulatedNat nat)
{
    public long Session { get; } = session;
    public UInt128 Identity { get; } = identity;
    public Ipv4PeerEngine Engine { get; } = engine;
    /// <summary>The peer's Teredo socket on its LAN, before the NAT.</summary>
    public Ipv4Endpoint Socket { get; } = socket;
    public SimulatedNat Nat { get; } = nat;
    public ListSink Sink { get; } = new();
    public bool Connected { get; set; } = true;
    /// <summary>Every control frame the coordinator sent this peer, parsed from the bytes it emitted.</summary>
    public List<ControlMessageType> FramesReceived { get; } = [];
    public List<LeaseGranted> Grants { get; } = [];
}

/// <summary>
/// The P2P NAT64 network wired in memory (DESIGN.md §B.2): client C → IPv6 peer → relay → coordinator's
/// UDP 3544 → control frame → IPv4 peer → (NAT) → relay → IPv4 peer → host D, and back. Every hop is the
/// real sans-I/O engine; this class only carries the bytes each one emits to the next one, on a virtual
/// clock, in the order they were emitted.
/// </summary>
public sealed class P2pNetwork : ICoordinatorSink
{
    public static readonly Ipv4Address S = new(198, 18, 0, 30);
    public static readonly Ipv4Endpoint CoordinatorUdp = new(S, 3544);
    public static readonly Ipv4Endpoint RelayUdp = new(new Ipv4Address(198, 18, 0, 20), 3544);
    public static readonly Ipv6Address Prefix = Ipv6Address.Parse("2001:db8:64::");
    public static readonly Ipv6Address Pool = Ipv6Address.Parse("2001:db8:100::");
    public static readonly Ipv6Address Client = Ipv6Address.Parse("2001:db8:1::10");
    private static readonly (Ipv4Address, int) Lab = (new Ipv4Address(198, 18, 0, 0), 15);

    private readonly Queue<Action> _work = new();
    private readonly HashSet<long> _closed = [];
    private readonly ListSink _relaySink = new();
    private readonly ListSink _v6Sink = new();
    private long _nextSession = 1;

    public P2pNetwork(Func<byte[], byte[]?> hostD)
    {
        HostD = hostD;
        Coordinator = new CoordinatorEngine(new CoordinatorOptions { Address = S, AllowDestinations = [new(Lab.Item1, Lab.Item2)] },
            this, new NullJournal());
        Relay = new TeredoRelayEngine(new RelayOptions { NonceKey = new byte[32] });
        V6Peer = new Ipv6PeerEngine(new Ipv6PeerOptions
        {
            Prefix = Prefix,
            Pool = Pool,
            Coordinators = [S],
            ClientNetworks = [(Ipv6Address.Parse("2001:db8:1::"), 64)],
            AllowedDestinations = [Lab],
        });
    }

    public long Now { get; set; } = 1_000_000;
    public CoordinatorEngine Coordinator { get; }
    public TeredoRelayEngine Relay { get; }
    public Ipv6PeerEngine V6Peer { get; }
    public List<DonorPeer> Peers { get; } = [];
    /// <summary>The IPv4 host's answer to one packet (null: no answer).</summary>
    public Func<byte[], byte[]?> HostD { get; }
    /// <summary>What reached the IPv4 Internet, and through which peer.</summary>
    public List<(DonorPeer Peer, byte[] Packet)> ReachedIpv4 { get; } = [];
    public List<byte[]> ClientReceived { get; } = [];
    /// <summary>Datagrams a NAT refused (no mapping, or filtered) and packets nobody routes.</summary>
    public List<byte[]> Dropped { get; } = [];

    public static Ipv6Address Nat64(Ipv4Address d) => Ipv4EmbeddedIpv6.Embed(Prefix, 96, d);

    public static Ipv6Address T(Ipv4Address d) => CoordinatorAddress.Dynamic(S, d).ToIpv6();

    /// <summary>An IPv4 peer behind a symmetric NAT joins: its hello goes in, the coordinator's welcome comes back as frame bytes.</summary>
    public DonorPeer Join(UInt128 identity, Ipv4Address local, Ipv4Address natPublic)
    {
        var engine = new Ipv4PeerEngine(new Ipv4PeerOptions { LocalAddress = local, AllowedDestinations = [Lab] });
        var peer = new DonorPeer(_nextSession++, identity, engine, new Ipv4Endpoint(local, 3544),
            new SimulatedNat(NatBehaviour.Symmetric, natPublic));
        Peers.Add(peer);
        Message(peer.Session, new HelloMessage(1, 1, identity, local, 1000, 0, ""));
        Pump();
        return peer;
    }

    /// <summary>A peer says goodbye (SIGTERM): the coordinator ends the session and the peer's host tells its engine.</summary>
    public void Leave(DonorPeer peer)
    {
        Message(peer.Session, new GoodbyeMessage(GoodbyeReason.Shutdown, "stopping"));
        peer.Connected = false;
        peer.Engine.OnDisconnected();
        Pump();
    }

    /// <summary>C sends one packet to the IPv6 peer (its route for N); everything it causes runs to completion.</summary>
    public void FromClient(byte[] packet)
    {
        _work.Enqueue(() =>
        {
            V6Peer.OnDevicePacket(Now, Ipv6PeerEngine.TunDevice, packet, _v6Sink);
            FlushV6Peer();
        });
        Pump();
    }

    private void Message<T>(long session, T message) where T : struct, IControlMessage<T>
    {
        var frame = ControlFrame.ToArray(message);
        if (ControlFrame.TryRead(frame, out var type, out var body, out _) != FrameReadStatus.Complete)
            throw new InvalidOperationException("the control frame does not read back");
        Coordinator.OnMessage(session, Now, type, body);
    }

    private void Pump()
    {
        // Bounded: a routing loop between engines would otherwise hang the test run.
        for (int steps = 0; _work.Count > 0; steps++)
        {
            if (steps > 10_000) throw new InvalidOperationException("the in-memory network does not settle");
            _work.Dequeue()();
        }
    }

    bool ICoordinatorSink.Send(long session, ReadOnlySpan<byte> frame)
    {
        if (_closed.Contains(session)) return false;
        var bytes = frame.ToArray();
        _work.Enqueue(() => DeliverFrame(session, bytes));
        return true;
    }

    void ICoordinatorSink.Close(long session) => _closed.Add(session);

    /// <summary>What the peer's control client does with a frame: parse it and hand it to the engine (ControlBinding's dispatch).</summary>
    private void DeliverFrame(long session, byte[] frame)
    {
        var peer = Peers.Find(p => p.Session == session)!;
        if (!peer.Connected) return;
        if (ControlFrame.TryRead(frame, out var type, out _, out int consumed) != FrameReadStatus.Complete || consumed != frame.Length)
            throw new InvalidOperationException("the coordinator emitted a broken frame");
        peer.FramesReceived.Add(type);
        switch (type)
        {
            case ControlMessageType.Welcome when ControlFrame.TryParse<WelcomeMessage>(frame, out var welcome):
                peer.Engine.OnWelcome(Now, welcome);
                break;
            case ControlMessageType.LeaseGranted when ControlFrame.TryParse<LeaseGranted>(frame, out var grant):
                peer.Grants.Add(grant);
                peer.Engine.OnLeaseGranted(Now, grant, peer.Sink);
                break;
            case ControlMessageType.LeaseRenewed when ControlFrame.TryParse<LeaseRenewed>(frame, out var renewed):
                peer.Engine.OnLeaseRenewed(Now, renewed);
                break;
            case ControlMessageType.LeaseReleased when ControlFrame.TryParse<LeaseReleased>(frame, out var released):
                peer.Engine.OnLeaseEnded(released.Address);
                break;
            case ControlMessageType.LeaseRevoked when ControlFrame.TryParse<LeaseRevoked>(frame, out var revoked):
                peer.Engine.OnLeaseEnded(revoked.Address);
                break;
            case ControlMessageType.BubbleNotification when ControlFrame.TryParse<BubbleNotification>(frame, out var notice):
                peer.Engine.OnBubbleNotification(notice, peer.Sink);
                break;
        }
        FlushPeer(peer);
    }

    /// <summary>The IPv4 peer's output: Teredo datagrams leave through its NAT; IPv4 packets go (masqueraded) to host D.</summary>
    private void FlushPeer(DonorPeer peer)
    {
        foreach (var (route, to, bytes) in peer.Sink.Take())
        {
            if (route == OutputRoute.Udp)
            {
                var outside = peer.Nat.Outbound(peer.Socket, to);
                if (to == RelayUdp) _work.Enqueue(() => { Relay.OnDatagram(Now, TeredoRelayEngine.UdpPort, outside, bytes, _relaySink); FlushRelay(); });
                else Dropped.Add(bytes);
            }
            else
            {
                _work.Enqueue(() =>
                {
                    ReachedIpv4.Add((peer, bytes));
                    if (HostD(bytes) is not { } answer) return;
                    peer.Engine.OnDevicePacket(Now, Ipv4PeerEngine.TunDevice, answer, peer.Sink);
                    FlushPeer(peer);
                });
            }
        }
    }

    /// <summary>The relay's output: indirect bubbles to the coordinator, data to peers' NATs, decapsulated IPv6 to its TUN (routed to the IPv6 peer's pool).</summary>
    private void FlushRelay()
    {
        foreach (var (route, to, bytes) in _relaySink.Take())
        {
            if (route == OutputRoute.Tun)
            {
                _work.Enqueue(() => { V6Peer.OnDevicePacket(Now, Ipv6PeerEngine.TunDevice, bytes, _v6Sink); FlushV6Peer(); });
                continue;
            }
            if (to == CoordinatorUdp)
            {
                _work.Enqueue(() => Coordinator.OnBubble(Now, RelayUdp, bytes));
                continue;
            }
            var peer = Peers.Find(p => p.Nat.PublicAddress == to.Address);
            if (peer is null || !peer.Nat.Inbound(RelayUdp, to)) { Dropped.Add(bytes); continue; }
            _work.Enqueue(() => { peer.Engine.OnDatagram(Now, Ipv4PeerEngine.UdpPort, RelayUdp, bytes, peer.Sink); FlushPeer(peer); });
        }
    }

    /// <summary>The IPv6 peer writes to its TUN; the kernel routes 2001::/32 to the relay and C's address to C.</summary>
    private void FlushV6Peer()
    {
        foreach (var (_, _, bytes) in _v6Sink.Take())
        {
            var destination = Ipv6Address.Read(bytes.AsSpan(24));
            if (TeredoAddress.IsTeredo(destination, TeredoAddress.ServicePrefix))
                _work.Enqueue(() => { Relay.OnDevicePacket(Now, TeredoRelayEngine.TunDevice, bytes, _relaySink); FlushRelay(); });
            else if (destination == Client) ClientReceived.Add(bytes);
            else Dropped.Add(bytes);
        }
    }

    private sealed class NullJournal : IStaticAssignmentJournal
    {
        public void Record(UInt128 identity, uint suffix) { }
    }
}
