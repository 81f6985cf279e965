using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.P2p.Ipv6Peer;

/// <summary>
/// The IPv6 peer's data path (DESIGN.md §B.4), sans I/O: every packet the host's TUN delivers (routes for
/// the NAT64 prefix N and the pool) goes through <see cref="OnDevicePacket"/>, and what comes out is written back
/// to the TUN for the kernel to route — toward 2001::/32 (any relay) or toward the client.
/// Client C → N::D becomes P(C) → T_k(D); T_k(D) → P(C) becomes N::D → C. Both addresses change and the
/// checksums follow incrementally; ICMPv6 errors are rewritten with the packet they quote, so path MTU
/// discovery and traceroute work for C. One thread at a time (the daemon serialises calls).
/// </summary>
public sealed class Ipv6PeerEngine : IPacketEngine
{
    /// <summary>The one TUN, carrying both routes (the prefix and the pool); output goes back to it.</summary>
    public static readonly DeviceHandle TunDevice = new(0);

    private const int SweepIntervalMs = 1000;
    private const ushort ProbeIdentifier = 0x7636; // "v6"

    private readonly Ipv6PeerOptions _options;
    private readonly Ipv6Address _ownAddress;
    // Arrays, not the options' lists: foreach over an IList allocates an enumerator per packet.
    private readonly (Ipv6Address Network, int Length)[] _clientNetworks;
    private readonly (Ipv4Address Network, int Length)[] _allowedDestinations;
    private long _nextSweepMs = long.MinValue;
    private long _nextProbeMs = long.MinValue;
    private ushort _probeSequence;
    private long _errorTokensMilli;
    private long _errorRefillMs = long.MinValue;

    public Ipv6PeerEngine(Ipv6PeerOptions options)
    {
        options.Validate();
        _options = options;
        _ownAddress = options.OwnAddress;
        _clientNetworks = [.. options.ClientNetworks];
        _allowedDestinations = [.. options.AllowedDestinations];
        Pool = new ClientPool(options.Pool, options.PoolLength, options.Capacity, options.MappingIdleTimeoutMs);
        Ring = new CoordinatorRing(options, Counters);
    }

    public Ipv6PeerOptions Options => _options;
    public Ipv6PeerCounters Counters { get; } = new();
    public ClientPool Pool { get; }
    public CoordinatorRing Ring { get; }

    /// <summary>
    /// When <see cref="OnTimer"/> next has work: the sweep, the probes, and the coordinators' health windows
    /// (a coordinator awaiting an answer goes down when its window closes; a held-down one gets another
    /// chance after the retry time), so that the ring changes at exactly the same moment however it is polled.
    /// </summary>
    public long NextDeadlineMs
    {
        get
        {
            long next = Math.Min(_nextSweepMs, Ring.NextCheckMs);
            return _options.ProbeTarget is null ? next : Math.Min(next, _nextProbeMs);
        }
    }

    /// <summary>The v6peer has no UDP socket of its own (the embedded relay has): a datagram is counted and dropped.</summary>
    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output) =>
        Counters.Increment(Ipv6PeerCounter.DropUnexpectedDatagram);

    /// <summary>One packet from the TUN: for the prefix (from a client) or for the pool (from the network).</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput sink)
    {
        Counters.Increment(Ipv6PeerCounter.Received);
        if (!Ipv6Packet.TryParse(packet, out var ip) || !Ipv6ExtensionHeaders.TryWalk(ip.Bytes, out var headers))
        {
            Counters.Increment(Ipv6PeerCounter.DropMalformed);
            return;
        }
        var destination = ip.Destination;
        if (destination.IsIn(_options.Prefix, _options.PrefixLength)) FromClient(nowMs, ip, headers, sink);
        else if (destination.IsIn(_options.Pool, _options.PoolLength)) FromNetwork(nowMs, ip, headers, sink);
        else Counters.Increment(Ipv6PeerCounter.DropNotForUs);
    }

    /// <summary>Expiry of idle mappings and destinations, coordinator health, and the echo probes.</summary>
    public void OnTimer(long nowMs, IPacketOutput sink)
    {
        if (nowMs >= _nextSweepMs)
        {
            _nextSweepMs = nowMs + SweepIntervalMs;
            Counters.Add(Ipv6PeerCounter.MappingsExpired, Pool.Expire(nowMs));
            Ring.ExpireDestinations(nowMs);
        }
        Ring.Check(nowMs);
        if (_options.ProbeTarget is { } target && nowMs >= _nextProbeMs)
        {
            _nextProbeMs = nowMs + _options.ProbeIntervalMs;
            _probeSequence++;
            for (int k = 0; k < Ring.Coordinators.Count; k++)
            {
                Span<byte> output = sink.Reserve(Ipv6Packet.HeaderLength + Icmpv6Echo.HeaderLength);
                int length = Icmpv6Echo.Emit(output, _ownAddress, Ring.DynamicAddress(k, target), request: true,
                    ProbeIdentifier, _probeSequence, default);
                sink.Write(TunDevice, length);
                Ring.Sent(nowMs, k);
                Counters.Increment(Ipv6PeerCounter.ProbesSent);
            }
        }
    }

    private void FromClient(long nowMs, Ipv6Packet ip, in Ipv6ExtensionHeaders headers, IPacketOutput sink)
    {
        var client = ip.Source;
        if (!IsServed(client))
        {
            Counters.Increment(Ipv6PeerCounter.DropSourceNotServed);
            return;
        }
        var nat64 = ip.Destination;
        if (!Ipv4EmbeddedIpv6.TryExtract(nat64, _options.PrefixLength, out var d, out _))
        {
            Counters.Increment(Ipv6PeerCounter.DropBadEmbeddedAddress);
            return;
        }
        if (ip.HopLimit <= 1)
        {
            Counters.Increment(Ipv6PeerCounter.HopLimitExceeded);
            SendError(nowMs, ip, Icmpv6Type.TimeExceeded, 0, sink);
            return;
        }
        if (!IsReachable(d))
        {
            Counters.Increment(Ipv6PeerCounter.DestinationNotGlobal);
            SendError(nowMs, ip, Icmpv6Type.DestinationUnreachable, (byte)UnreachableCode.AdministrativelyProhibited, sink);
            return;
        }
        // An error from C quotes a packet N::D → C; the quote must be about this very flow.
        int quote = QuotedPacketOffset(ip.Bytes, headers);
        if (quote >= 0 && !Quotes(ip.Bytes.Slice(quote), nat64, client))
        {
            Counters.Increment(Ipv6PeerCounter.DropIcmpErrorNotOurs);
            return;
        }
        if (!Pool.TryMap(nowMs, client, out var pooled, out bool created))
        {
            Counters.Increment(Ipv6PeerCounter.DropPoolExhausted);
            return;
        }
        if (created) Counters.Increment(Ipv6PeerCounter.MappingsCreated);
        int k = Ring.Choose(nowMs, d);
        var target = Ring.DynamicAddress(k, d);
        Ring.Sent(nowMs, k);
        Span<byte> output = Forward(ip, headers, quote, pooled, target, innerSource: target, innerDestination: pooled, sink);
        sink.Write(TunDevice, output.Length);
        Counters.Increment(quote >= 0 ? Ipv6PeerCounter.ClientIcmpErrorsForwarded : Ipv6PeerCounter.ForwardedToCoordinator);
    }

    private void FromNetwork(long nowMs, Ipv6Packet ip, in Ipv6ExtensionHeaders headers, IPacketOutput sink)
    {
        var pooled = ip.Destination;
        var source = ip.Source;
        if (pooled == _ownAddress)
        {
            OwnAddressReceived(nowMs, ip);
            return;
        }
        if (!Pool.TryFindClient(nowMs, pooled, out var client))
        {
            Counters.Increment(Ipv6PeerCounter.DropPoolNotMapped);
            return;
        }
        int quote = QuotedPacketOffset(ip.Bytes, headers);
        int k = DynamicSource(source, out var sourceD);
        Ipv6Address innerNat64 = default;
        if (quote >= 0)
        {
            // An error about C's packet P(C) → T_j(D'), from anywhere on the path (a relay's Packet Too Big, a
            // router's Time Exceeded) or from the IPv4 peer (a translated ICMPv4 error, source T_j(D')).
            if (!Ipv6Packet.TryParseQuoted(ip.Bytes.Slice(quote), out var inner) || inner.Source != pooled
                || DynamicSource(inner.Destination, out var innerD) < 0)
            {
                Counters.Increment(Ipv6PeerCounter.DropIcmpErrorNotOurs);
                return;
            }
            innerNat64 = Nat64(innerD);
        }
        else if (k < 0)
        {
            Counters.Increment(Ipv6PeerCounter.DropSourceNotCoordinator);
            return;
        }
        if (k >= 0) Ring.Answered(nowMs, k);
        if (ip.HopLimit <= 1)
        {
            Counters.Increment(Ipv6PeerCounter.HopLimitExceeded);
            SendError(nowMs, ip, Icmpv6Type.TimeExceeded, 0, sink);
            return;
        }
        // A router's own address stays as it is: traceroute shows the real hop, PMTU discovery only reads the quote.
        var newSource = k >= 0 ? Nat64(sourceD) : source;
        Span<byte> output = Forward(ip, headers, quote, newSource, client, innerSource: client, innerDestination: innerNat64, sink);
        sink.Write(TunDevice, output.Length);
        Counters.Increment(quote >= 0 ? Ipv6PeerCounter.IcmpErrorsForwarded : Ipv6PeerCounter.ForwardedToClient);
    }

    /// <summary>
    /// Copies the packet into the sink, rewrites both addresses (and the quoted packet's, for an ICMPv6 error)
    /// with every checksum patched, and decrements the hop limit.
    /// </summary>
    private static Span<byte> Forward(Ipv6Packet ip, in Ipv6ExtensionHeaders headers, int quote, Ipv6Address source,
        Ipv6Address destination, Ipv6Address innerSource, Ipv6Address innerDestination, IPacketOutput sink)
    {
        var input = ip.Bytes;
        Span<byte> output = sink.Reserve(input.Length).Slice(0, input.Length);
        input.CopyTo(output);
        ulong innerRemoved = 0, innerAdded = 0;
        if (quote >= 0)
        {
            Span<byte> inner = output.Slice(quote);
            // The quote may be cut anywhere after its fixed header: walk what is there.
            Ipv6ExtensionHeaders.TryWalk(inner, out var innerHeaders, truncatedOk: true);
            AddressRewrite.Apply(inner, innerHeaders, innerSource, innerDestination, 0, 0, out innerRemoved, out innerAdded);
        }
        AddressRewrite.Apply(output, headers, source, destination, innerRemoved, innerAdded, out _, out _);
        new Ipv6PacketWriter(output).HopLimit = (byte)(ip.HopLimit - 1);
        return output;
    }

    /// <summary>Echo replies to our probes prove their coordinator alive; nothing else is for this address.</summary>
    private void OwnAddressReceived(long nowMs, Ipv6Packet ip)
    {
        int k = DynamicSource(ip.Source, out var d);
        if (k >= 0 && _options.ProbeTarget == d && Icmpv6Packet.TryParse(ip, out var icmp) && icmp.Type == Icmpv6Type.EchoReply
            && icmp.VerifyChecksum(ip.Source, ip.Destination))
        {
            Counters.Increment(Ipv6PeerCounter.ProbeRepliesReceived);
            Ring.Answered(nowMs, k);
            return;
        }
        Counters.Increment(Ipv6PeerCounter.DropToOwnAddress);
    }

    /// <summary>
    /// The coordinator index when <paramref name="address"/> is a dynamic address T_k(D) of a configured
    /// coordinator with a destination we would have sent to; -1 otherwise.
    /// </summary>
    private int DynamicSource(Ipv6Address address, out Ipv4Address d)
    {
        d = default;
        int k = Ring.IndexOf(address);
        if (k < 0) return -1;
        ulong lower = address.Lower;
        // u octet zero and suffix zero: a dynamic address (DESIGN.md §B.1); static ones are not reachable through N.
        if ((lower & 0xFF00_0000_00FF_FFFF) != 0) return -1;
        d = new Ipv4Address((uint)(lower >> 24));
        return IsReachable(d) ? k : -1;
    }

    private Ipv6Address Nat64(Ipv4Address d) => Ipv4EmbeddedIpv6.Embed(_options.Prefix, _options.PrefixLength, d);

    private bool IsServed(Ipv6Address source)
    {
        if (source.IsMulticast || source.IsUnspecified) return false;
        foreach (var (network, length) in _clientNetworks)
            if (source.IsIn(network, length)) return true;
        return false;
    }

    /// <summary>Globally reachable (RFC 6890), or in an allowed network.</summary>
    private bool IsReachable(Ipv4Address d)
    {
        if (!SpecialPurposeIpv4.IsSpecial(d)) return true;
        foreach (var (network, length) in _allowedDestinations)
            if (d.IsIn(network, length)) return true;
        return false;
    }

    /// <summary>Offset of the packet an ICMPv6 error quotes (after its 8-byte header); -1 when not an error.</summary>
    private static int QuotedPacketOffset(ReadOnlySpan<byte> packet, in Ipv6ExtensionHeaders headers)
    {
        if (headers.UpperProtocol != IpProtocol.Icmpv6 || headers.IsFragmented(packet)) return -1;
        int offset = headers.UpperOffset;
        if (offset > packet.Length || !IcmpHeader.TryParse(packet.Slice(offset), out var icmp) || !Icmpv6Type.IsError(icmp.Type)) return -1;
        return offset + IcmpHeader.Length;
    }

    private static bool Quotes(ReadOnlySpan<byte> inner, Ipv6Address source, Ipv6Address destination) =>
        Ipv6Packet.TryParseQuoted(inner, out var quoted) && quoted.Source == source && quoted.Destination == destination;

    /// <summary>
    /// An ICMPv6 error from the peer's own address back to the source of <paramref name="offending"/>: never
    /// about an error or to a multicast source (RFC 4443 §2.4), rate-limited, quoting what fits in 1280 bytes.
    /// </summary>
    private void SendError(long nowMs, Ipv6Packet offending, byte type, byte code, IPacketOutput sink)
    {
        var target = offending.Source;
        if (target.IsMulticast || target.IsUnspecified) return;
        if (Ipv6ExtensionHeaders.TryWalk(offending.Bytes, out var headers) && QuotedPacketOffset(offending.Bytes, headers) >= 0) return;
        if (!TakeErrorToken(nowMs))
        {
            Counters.Increment(Ipv6PeerCounter.IcmpErrorsRateLimited);
            return;
        }
        Span<byte> output = sink.Reserve(Icmpv6Error.QuoteOffset + Icmpv6Error.QuotedLength(offending.TotalLength));
        int length = Icmpv6Error.Emit(output, _ownAddress, target, type, code, 0, offending.Bytes);
        sink.Write(TunDevice, length);
        Counters.Increment(Ipv6PeerCounter.IcmpErrorsSent);
    }

    /// <summary>A token bucket with a one-second burst: errors cannot be turned into a flood.</summary>
    private bool TakeErrorToken(long nowMs)
    {
        int rate = _options.IcmpErrorsPerSecond;
        if (rate == 0) return true;
        long capacity = rate * 1000L;
        if (_errorRefillMs == long.MinValue) _errorTokensMilli = capacity;
        else _errorTokensMilli = Math.Min(capacity, _errorTokensMilli + (nowMs - _errorRefillMs) * rate);
        _errorRefillMs = nowMs;
        if (_errorTokensMilli < 1000) return false;
        _errorTokensMilli -= 1000;
        return true;
    }
}
