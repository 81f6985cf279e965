using System.Buffers.Binary;
using System.Security.Cryptography;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Peers;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>
/// The Teredo client of RFC 4380 §5.2 (with RFC 5991's random address bits) as a sans-I/O engine. The host
/// feeds it datagrams from its UDP sockets (<see cref="OnDatagram"/>, ports <see cref="ClientPort"/>), IPv6
/// packets from its TUN interface (<see cref="OnDevicePacket"/>, <see cref="TunDevice"/>) and the time
/// (<see cref="OnTimer"/>, whenever <see cref="NextDeadlineMs"/> is due); the engine writes what to send into
/// an <see cref="IPacketOutput"/> and queues <see cref="ClientEvent"/>s (address acquired, changed, lost...)
/// that the host takes with <see cref="TryTakeEvent"/> and applies.
///
/// A new engine is due at once: its first <see cref="OnTimer"/> starts qualification (as <see cref="Start"/>
/// does), so a host needs nothing but the contract to run it.
///
/// The concerns live in one file each: qualification and NAT detection, maintenance, reception,
/// transmission (peers, bubbles, the connectivity test), local discovery, refresh interval
/// determination. Not thread-safe: one engine, one caller at a time.
/// </summary>
public sealed partial class TeredoClientEngine : IPacketEngine<ClientEvent>
{
    /// <summary>The client's TUN interface, where packets for and from the host's stack pass.</summary>
    public static readonly DeviceHandle TunDevice = new(0);

    private const int PeerNotHeardMs = 30_000;

    private readonly ClientOptions _options;
    private readonly IRandomSource _random;
    private readonly PeerList _peers;
    private readonly Queue<ClientEvent> _events = new();
    private readonly Ipv4Endpoint _primary;
    private readonly Ipv4Endpoint _secondary;
    /// <summary>The upper 64 bits every valid RA prefix must carry: service prefix /32, then the primary address.</summary>
    private readonly ulong _expectedPrefix;
    /// <summary>The server's Teredo link-local address: the "router" our ICMPv6 errors come from.</summary>
    private readonly Ipv6Address _serverLinkLocal;
    private readonly ushort _echoIdentifier;

    private TeredoAddress _address;
    private Ipv6Address _linkLocal;
    private Ipv4Endpoint _mapped;
    private long _lastServerMs = long.MinValue;

    public TeredoClientEngine(ClientOptions options, IRandomSource? random = null)
    {
        if (options.Validate() is { } problem) throw new ArgumentException(problem, nameof(options));
        _options = options;
        _random = random ?? CryptoRandomSource.Instance;
        _peers = new PeerList(options.PeerCapacity, options.MaxQueuedPerPeer, options.MaxQueuedBytes);
        _primary = new Ipv4Endpoint(options.Server, TeredoAddress.Port);
        _secondary = new Ipv4Endpoint(options.SecondaryServerAddress, TeredoAddress.Port);
        _expectedPrefix = (options.ServicePrefix.Upper & 0xFFFF_FFFF_0000_0000) | options.Server.Value;
        _serverLinkLocal = TeredoAddress.LinkLocal(TeredoFlags.Cone, _primary);
        _echoIdentifier = (ushort)_random.NextUInt64();
        _refreshIntervalMs = options.RefreshIntervalMs;
    }

    public ClientOptions Options => _options;
    public ClientCounters Counters { get; } = new();
    public PeerList Peers => _peers;
    public ClientState State { get; private set; } = ClientState.Initial;
    public NatType NatType { get; private set; } = NatType.Unknown;
    /// <summary>True while the client holds a Teredo address (state <see cref="ClientState.Qualified"/>).</summary>
    public bool HasAddress { get; private set; }
    public TeredoAddress Address => _address;
    /// <summary>fe80::/64 with the same interface identifier as <see cref="Address"/>, for the interface.</summary>
    public Ipv6Address LinkLocalAddress => _linkLocal;
    /// <summary>The mapped address and port the server reported, embedded in <see cref="Address"/>.</summary>
    public Ipv4Endpoint Mapped => _mapped;
    public Ipv4Endpoint PrimaryServer => _primary;
    public Ipv4Endpoint SecondaryServer => _secondary;
    public long LastServerInteractionMs => _lastServerMs;
    /// <summary>The MTU option of the last accepted RA, 0 when it had none.</summary>
    public uint AdvertisedMtu { get; private set; }

    public QualificationProbe ConeProbe => _coneProbe;
    public QualificationProbe PrimaryProbe => _primaryProbe;
    public QualificationProbe SecondaryProbe => _secondaryProbe;

    /// <summary>Takes the oldest event the engine queued; call after every engine call until it returns false.</summary>
    public bool TryTakeEvent(out ClientEvent clientEvent) => _events.TryDequeue(out clientEvent);

    public int PendingEvents => _events.Count;

    /// <summary>Everything time-driven: the start, retransmissions, maintenance, give-ups, the optional procedures.</summary>
    public void OnTimer(long nowMs, IPacketOutput sink)
    {
        if (State == ClientState.Initial) BeginQualification(nowMs, sink);
        QualificationTimer(nowMs, sink);
        MaintenanceTimer(nowMs, sink);
        PeerTimer(nowMs, sink);
        DiscoveryTimer(nowMs, sink);
        RefreshDeterminationTimer(nowMs, sink);
    }

    private void Count(ClientCounter counter) => Counters.Increment(counter);

    private void Raise(ClientEventKind kind, long nowMs, TeredoAddress address = default, TeredoAddress previous = default, long value = 0)
    {
        if (_events.Count >= _options.EventCapacity)
        {
            _events.Dequeue();
            Count(ClientCounter.EventsDropped);
        }
        _events.Enqueue(new ClientEvent(kind, nowMs, State, address, previous, NatType, value));
    }

    private void SetState(ClientState state, long nowMs)
    {
        if (State == state) return;
        State = state;
        Raise(ClientEventKind.StateChanged, nowMs, _address);
    }

    /// <summary>Milliseconds from <paramref name="thenMs"/> to <paramref name="nowMs"/>; "forever" for a time that never was.</summary>
    private static long Elapsed(long nowMs, long thenMs) => thenMs == long.MinValue ? long.MaxValue : nowMs - thenMs;

    private bool IsTeredo(Ipv6Address address) => TeredoAddress.IsTeredo(address, _options.ServicePrefix);

    /// <summary>
    /// fe80::/64 with 64 bits of HMAC-SHA256(key, peer): the source of our indirect bubbles to that peer.
    /// A bubble addressed back to it proves its sender saw our bubble, which lets the client trust a peer
    /// whose packets come from another mapping than its address embeds (a symmetric NAT), as Miredo does.
    /// </summary>
    public Ipv6Address NonceAddress(Ipv6Address peer)
    {
        Span<byte> input = stackalloc byte[16];
        Span<byte> mac = stackalloc byte[32];
        peer.Write(input);
        HMACSHA256.HashData(_options.NonceKey, input, mac);
        return new Ipv6Address(0xFE80_0000_0000_0000, BinaryPrimitives.ReadUInt64BigEndian(mac));
    }

    /// <summary>
    /// Every packet to a peer leaves through here or <see cref="SendPeerBubble"/>: the last guard of
    /// §5.2.4's rule that nothing goes to a non-global IPv4 address except, in case 1, to a peer proven
    /// by local discovery (<paramref name="peer"/>'s local endpoint). The decisions before it make sure
    /// it never fires; <see cref="ClientCounter.SendRefusedNotGlobal"/> would show it if one did.
    /// </summary>
    private bool SendUdp(IPacketOutput sink, Peer? peer, Ipv4Endpoint to, ReadOnlySpan<byte> packet)
    {
        if (!MaySendTo(peer, to)) return false;
        var buffer = sink.Reserve(packet.Length);
        packet.CopyTo(buffer);
        sink.Send(ClientPort.Service, to, packet.Length);
        return true;
    }

    private bool SendPeerBubble(IPacketOutput sink, Peer? peer, Ipv4Endpoint to, Ipv6Address source, Ipv6Address target)
    {
        if (!MaySendTo(peer, to)) return false;
        SendBubble(sink, to, source, target);
        return true;
    }

    private bool MaySendTo(Peer? peer, Ipv4Endpoint to)
    {
        if (Ipv4Classification.IsTeredoGlobalUnicast(to.Address) || (peer is not null && peer.LocalEndpoint != default && to == peer.LocalEndpoint))
            return true;
        Count(ClientCounter.SendRefusedNotGlobal);
        return false;
    }

    /// <summary>A bubble with no check: for the discovery multicast and our own mapping; bubbles to peers use <see cref="SendPeerBubble"/>.</summary>
    private static void SendBubble(IPacketOutput sink, Ipv4Endpoint to, Ipv6Address source, Ipv6Address target, byte hopLimit = Bubble.HopLimit)
    {
        var buffer = sink.Reserve(Bubble.Length);
        new Ipv6Header(source, target, IpProtocol.NoNextHeader, 0, hopLimit).Emit(buffer);
        sink.Send(ClientPort.Service, to, Bubble.Length);
    }

    private static void Deliver(Ipv6Packet ip, IPacketOutput sink)
    {
        var buffer = sink.Reserve(ip.TotalLength);
        ip.Bytes.CopyTo(buffer);
        sink.Write(TunDevice, ip.TotalLength);
    }

    /// <summary>Forgets every peer and its queue (the address they knew us by is gone).</summary>
    private void ClearPeers()
    {
        if (_peers.Count == 0) return;
        foreach (var peer in _peers.NewestFirst().ToArray()) _peers.Remove(peer);
    }
}
