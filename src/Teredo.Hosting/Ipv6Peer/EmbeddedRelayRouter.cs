using Teredo.Addressing;
using Teredo.Engines;
using Teredo.Net;
using Teredo.P2p.Ipv6Peer;
using Teredo.Relay;
using Teredo.Wire;

namespace Teredo.Hosting.Ipv6Peer;

/// <summary>
/// The output both engines write to when the v6peer runs its own relay (<c>--relay embedded</c>): what either
/// engine sends to the IPv6 side is routed by destination, as the kernel would — 2001::/32 into the relay
/// engine, the pool into the v6peer engine, anything else (a client) to the TUN — and the relay's UDP
/// datagrams go to the socket. So a dual-stack v6peer host needs no outside relay and no 2001::/32 route.
/// The relay runs as a full relay but is confined here to the pool: its IPv6 output for anything else is
/// dropped, so Teredo peers reach nothing through this host but the v6peer's mappings.
/// Each nesting level has its own scratch buffer, because an engine reads its input while the next one
/// writes; the depth is bounded (a packet crosses each engine at most once or twice).
/// To the packet host it is the v6peer's one engine: the TUN is <see cref="Ipv6PeerEngine.TunDevice"/>, the
/// relay's socket <see cref="TeredoRelayEngine.UdpPort"/>, the deadline the earlier of the two engines'.
/// </summary>
public sealed class EmbeddedRelayRouter(Ipv6PeerEngine peer, TeredoRelayEngine relay) : IPacketEngine, IPacketOutput
{
    private const int MaxDepth = 4;
    private const int ScratchSize = 2048;

    private readonly byte[][] _scratch = [new byte[ScratchSize], new byte[ScratchSize], new byte[ScratchSize], new byte[ScratchSize]];
    private readonly Ipv6Address _pool = peer.Options.Pool;
    private readonly int _poolLength = peer.Options.PoolLength;
    private readonly bool[] _relayWrote = new bool[MaxDepth];
    private int _depth;
    private long _relayConfined;
    private long _now;
    private long _loopDrops;
    // The host's output of the call in progress (one per host thread; calls are serialised under the shard's lock).
    private IPacketOutput _outer = null!;

    /// <summary>IPv6 packets the relay meant for something other than the pool, dropped.</summary>
    public long RelayConfined => _relayConfined;

    /// <summary>Packets dropped because they went round between the engines more than <see cref="MaxDepth"/> times.</summary>
    public long LoopDrops => _loopDrops;

    /// <summary>A packet from the TUN (a client's, for N): through the v6peer, then wherever its output goes.</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output)
    {
        Enter(nowMs, output, relayWrote: false);
        peer.OnDevicePacket(nowMs, device, packet, this);
    }

    /// <summary>A datagram on the relay's socket: through the relay, whose IPv6 output (for the pool) goes to the v6peer.</summary>
    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> datagram, IPacketOutput output)
    {
        Enter(nowMs, output, relayWrote: true);
        relay.OnDatagram(nowMs, port, source, datagram, this);
    }

    /// <summary>Each engine only when its own deadline is due, so neither is called early.</summary>
    public void OnTimer(long nowMs, IPacketOutput output)
    {
        if (peer.NextDeadlineMs <= nowMs)
        {
            Enter(nowMs, output, relayWrote: false);
            peer.OnTimer(nowMs, this);
        }
        if (relay.NextDeadlineMs <= nowMs)
        {
            Enter(nowMs, output, relayWrote: true);
            relay.OnTimer(nowMs, this);
        }
    }

    public long NextDeadlineMs => Math.Min(peer.NextDeadlineMs, relay.NextDeadlineMs);

    private void Enter(long nowMs, IPacketOutput output, bool relayWrote)
    {
        _now = nowMs;
        _outer = output;
        _relayWrote[0] = relayWrote;
    }

    public Span<byte> Reserve(int maxLength)
    {
        if (maxLength > ScratchSize) throw new ArgumentOutOfRangeException(nameof(maxLength));
        return _scratch[_depth];
    }

    /// <summary>Datagrams (the relay's, from its one socket) go straight to the outer output.</summary>
    public void Send(PortHandle from, Ipv4Endpoint to, int length)
    {
        _scratch[_depth].AsSpan(0, length).CopyTo(_outer.Reserve(length));
        _outer.Send(from, to, length);
    }

    /// <summary>IPv6 packets either engine wrote to its TUN (both have one, device 0) are routed by destination.</summary>
    public void Write(DeviceHandle device, int length)
    {
        ReadOnlySpan<byte> packet = _scratch[_depth].AsSpan(0, length);
        var destination = Ipv6Packet.TryParseQuoted(packet, out var ip) ? ip.Destination : default;
        bool toRelay = TeredoAddress.IsTeredo(destination);
        bool toPeer = destination.IsIn(_pool, _poolLength);
        if (_relayWrote[_depth] && !toPeer)
        {
            _relayConfined++;
            return;
        }
        if (!toRelay && !toPeer)
        {
            packet.CopyTo(_outer.Reserve(length));
            _outer.Write(device, length);
            return;
        }
        if (_depth + 1 == MaxDepth)
        {
            _loopDrops++;
            return;
        }
        _depth++;
        _relayWrote[_depth] = toRelay;
        try
        {
            if (toRelay) relay.OnDevicePacket(_now, TeredoRelayEngine.TunDevice, packet, this);
            else peer.OnDevicePacket(_now, Ipv6PeerEngine.TunDevice, packet, this);
        }
        finally
        {
            _depth--;
        }
    }
}
