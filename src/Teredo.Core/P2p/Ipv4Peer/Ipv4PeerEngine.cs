using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Nat64;
using Teredo.Net;
using Teredo.P2p.Control;
using Teredo.Wire;

namespace Teredo.P2p.Ipv4Peer;

/// <summary>
/// The IPv4 peer's data path, sans-I/O (DESIGN.md §B.2 step 4, §B.5): answers the coordinator's bubble
/// notifications with bubbles from the Teredo socket, accepts Teredo-encapsulated IPv6 only for the
/// addresses it holds (its leases and its static address), translates it with the core RFC 7915
/// translator to IPv4 for the TUN, and sends the translated replies to the relay each IPv6 source was
/// last heard through. The host feeds it control notices (under the same lock as packets); when a use report
/// is due (<see cref="Ipv4PeerEvent.ReportDue"/>) or a lease was refused (<see cref="Ipv4PeerEvent.LeaseRefused"/>)
/// it raises an event, and the host's handler drains <see cref="CollectUseReport"/> and
/// <see cref="TakeRefusedLeases"/> into the control session.
/// </summary>
public sealed class Ipv4PeerEngine : IPacketEngine<Ipv4PeerEvent>
{
    /// <summary>Idle relay routes and leases past their grace are looked for this often.</summary>
    public const int SweepIntervalMs = 1000;

    /// <summary>The one Teredo socket: bubbles to relays, IPv6 from and to them.</summary>
    public static readonly PortHandle UdpPort = new(0);
    /// <summary>The TUN the translated IPv4 leaves on and the replies come back from.</summary>
    public static readonly DeviceHandle TunDevice = new(0);

    private readonly Ipv4PeerOptions _options;
    private readonly Dictionary<Ipv6Address, HeldAddress> _held = [];
    private readonly List<Ipv6Address> _refused = [];
    private readonly List<Ipv6Address> _expired = [];
    private readonly SourceRateLimiter _perSource;
    private readonly ByteBucket _bandwidth;
    private readonly TranslationRouter _router;
    private Nat64Translator? _translator;
    private WelcomeMessage? _welcome;
    private HeldAddress? _static;
    private long _nextSweepMs = long.MinValue;
    private long _nextReportMs = long.MaxValue;
    private bool _reportDue;
    private bool _refusedSignalled;

    public Ipv4PeerEngine(Ipv4PeerOptions options)
    {
        options.Validate();
        _options = options;
        Relays = new RelayTable(options.MaxRelayRoutes, options.RelayRouteIdleSeconds * 1000L);
        _perSource = new SourceRateLimiter(options.PerSourcePacketsPerSecond, options.PerSourceBurst, 4096);
        _bandwidth = new ByteBucket(options.RateLimitMbit);
        _router = new TranslationRouter(this);
    }

    public Ipv4PeerOptions Options => _options;
    public Ipv4PeerCounters Counters { get; } = new();
    public RelayTable Relays { get; }
    /// <summary>Null until the first welcome: the /64 is the coordinator's.</summary>
    public Nat64Translator? Translator => _translator;
    public WelcomeMessage? Welcome => _welcome;
    public HeldAddress? StaticAddress => _static;
    public IReadOnlyCollection<HeldAddress> Held => _held.Values;
    public int LeaseCount => _held.Count - (_static is null ? 0 : 1);

    public bool IsHeld(Ipv6Address address) => _held.ContainsKey(address);

    internal void Count(Ipv4PeerCounter counter) => Counters.Increment(counter);

    /// <summary>
    /// A (new) session's welcome. Leases of an earlier session are gone (the coordinator moved them when
    /// the session ended); the translator is rebuilt only when the /64 or the static address changed, so
    /// dynamic pool mappings survive a reconnection to the same coordinator.
    /// </summary>
    public void OnWelcome(long nowMs, WelcomeMessage welcome)
    {
        bool same = _welcome is { } old && old.Prefix == welcome.Prefix && old.StaticAddress == welcome.StaticAddress
                    && old.StaticSuffix == welcome.StaticSuffix;
        _welcome = welcome;
        // Use reports go to a session: the first one a report interval after its welcome.
        _nextReportMs = nowMs + _options.UseReportIntervalMs;
        if (_nextSweepMs == long.MinValue) _nextSweepMs = nowMs + SweepIntervalMs;
        _held.Clear();
        _static = null;
        if (welcome.HasStaticAddress)
        {
            _static = new HeldAddress(welcome.StaticAddress, isStatic: true, nowMs);
            _held[welcome.StaticAddress] = _static;
        }
        if (!same || _translator is null) _translator = BuildTranslator(welcome);
    }

    /// <summary>The session ended: its leases are no longer ours. The static address stays ours but nobody routes to us until the next welcome.</summary>
    public void OnDisconnected()
    {
        _nextReportMs = long.MaxValue;
        foreach (var held in _held.Values)
            if (!held.IsStatic) Counters.Increment(Ipv4PeerCounter.LeasesEnded);
        _held.Clear();
        if (_static is not null) _held[_static.Address] = _static;
    }

    private Nat64Translator BuildTranslator(WelcomeMessage welcome)
    {
        var prefix = new Ipv6Address(welcome.Prefix, 0);
        var allowed = new List<(Ipv4Address, int)>(_options.AllowedDestinations);
        // The static address maps to the peer's own address (RFC 1918): the one non-global destination it
        // reaches, and only through the static address (leases for the local address are refused below).
        if (welcome.HasStaticAddress) allowed.Add((_options.LocalAddress, 32));
        var options = new Nat64Options
        {
            Prefix = prefix,
            PrefixLength = CoordinatorAddress.PrefixLength,
            UdpChecksumMode = UdpChecksumMode.Calculate,
            OfflinkMtu = Ipv6Packet.MinimumMtu,
            Ipv4Mtu = _options.Ipv4Mtu,
            Ipv6Mtu = Ipv6Packet.MinimumMtu,
            TranslatorIpv4 = _options.TranslatorAddress,
            // Never an address we hold (suffix 1 with embedded 0.0.0.0 is no address of the plan), so the
            // router recognises the errors it originates and re-sources them from the address they answer for.
            TranslatorIpv6 = new Ipv6Address(welcome.Prefix, 1),
            RefuseNonGlobalIpv4Destinations = true,
            AllowedDestinations = allowed,
        };
        var map = new Nat64AddressMap(options);
        if (welcome.HasStaticAddress) map.AddExplicit(_options.LocalAddress, 32, welcome.StaticAddress, 128);
        map.SetDynamicPool(_options.PoolNetwork, _options.PoolLength, _options.PoolLeaseMs, 1 << (32 - _options.PoolLength));
        return new Nat64Translator(options, map);
    }

    /// <summary>The coordinator leased us T(D); bubbles the relays it was seen from (a moved lease) so they re-map at once.</summary>
    public void OnLeaseGranted(long nowMs, LeaseGranted grant, IPacketOutput sink)
    {
        if (!MayHold(grant.Address))
        {
            Counters.Increment(Ipv4PeerCounter.LeasesRefused);
            // Bounded by the coordinator's grants between two drains; the handler drains at once.
            if (_refused.Count < _options.MaxLeases) _refused.Add(grant.Address);
            return;
        }
        if (!_held.TryGetValue(grant.Address, out var held))
        {
            held = new HeldAddress(grant.Address, isStatic: false, nowMs);
            _held[grant.Address] = held;
        }
        held.ExpiresMs = nowMs + grant.IdleSeconds * 1000L;
        Counters.Increment(Ipv4PeerCounter.LeasesGranted);
        foreach (var sighting in grant.Relays ?? []) SendBubble(grant.Address, sighting.BubbleSource, sighting.Relay, sink);
    }

    /// <summary>A lease this peer may carry: a dynamic address of its coordinator, not its own host or pool, within its bound.</summary>
    private bool MayHold(Ipv6Address address)
    {
        if (_welcome is not { } welcome) return false;
        if (!CoordinatorAddress.TryParse(address, out var a, out _) || a.Kind != CoordinatorAddressKind.Dynamic
            || new Ipv6Address(welcome.Prefix, 0) != new Ipv6Address(address.Upper, 0)) return false;
        if (a.Embedded == _options.LocalAddress || a.Embedded.IsIn(_options.PoolNetwork, _options.PoolLength)) return false;
        return _held.ContainsKey(address) || LeaseCount < _options.MaxLeases;
    }

    public void OnLeaseRenewed(long nowMs, LeaseRenewed renewed)
    {
        if (!_held.TryGetValue(renewed.Address, out var held) || held.IsStatic) return;
        held.ExpiresMs = nowMs + renewed.IdleSeconds * 1000L;
        Counters.Increment(Ipv4PeerCounter.LeasesRenewed);
    }

    /// <summary>Released (idle, coordinator stopping) or revoked (moved, policy): either way it is no longer ours.</summary>
    public void OnLeaseEnded(Ipv6Address address)
    {
        if (_held.TryGetValue(address, out var held) && !held.IsStatic && _held.Remove(address))
            Counters.Increment(Ipv4PeerCounter.LeasesEnded);
    }

    /// <summary>DESIGN.md §B.2 step 4: a relay bubbled the coordinator for an address we hold; bubble it back from our socket.</summary>
    public void OnBubbleNotification(BubbleNotification notice, IPacketOutput sink)
    {
        if (!_held.ContainsKey(notice.Destination))
        {
            Counters.Increment(Ipv4PeerCounter.BubbleNotificationNotHeld);
            return;
        }
        SendBubble(notice.Destination, notice.Source, notice.Relay, sink);
    }

    private void SendBubble(Ipv6Address held, Ipv6Address relayNonce, Ipv4Endpoint relay, IPacketOutput sink)
    {
        int n = Bubble.Emit(sink.Reserve(Bubble.Length), held, relayNonce);
        sink.Send(UdpPort, relay, n);
        Counters.Increment(Ipv4PeerCounter.BubblesSent);
    }

    /// <summary>One datagram on the Teredo socket, normally IPv6 from a relay for one of our addresses.</summary>
    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint from, ReadOnlySpan<byte> payload, IPacketOutput sink)
    {
        Counters.Increment(Ipv4PeerCounter.UdpReceived);
        if (TeredoDatagram.TryParse(payload, out var datagram) != TeredoParseError.None)
        {
            Counters.Increment(Ipv4PeerCounter.UdpMalformed);
            return;
        }
        var ip = datagram.Ipv6;
        if (ip.IsBubble)
        {
            Counters.Increment(Ipv4PeerCounter.UdpBubbleReceived);
            return;
        }
        var destination = ip.Destination;
        if (!_held.TryGetValue(destination, out var held)) { Counters.Increment(Ipv4PeerCounter.UdpNotHeld); return; }
        if (_translator is null) { Counters.Increment(Ipv4PeerCounter.UdpNoTranslator); return; }
        var source = ip.Source;
        if (!_perSource.TryTake(Fold(source), nowMs)) { Counters.Increment(Ipv4PeerCounter.UdpSourceRateLimited); return; }
        if (!_bandwidth.TryTake(nowMs, ip.TotalLength)) { Counters.Increment(Ipv4PeerCounter.UdpBandwidthLimited); return; }
        if (Relays.Heard(nowMs, source, from)) Counters.Increment(Ipv4PeerCounter.RelayRoutesEvicted);
        held.UsedIn(nowMs, ip.TotalLength);
        Counters.Increment(Ipv4PeerCounter.UdpTranslated);
        _router.Begin(sink, nowMs, fromIpv6: true);
        _translator.FromIpv6(nowMs, ip.Bytes, _router);
    }

    /// <summary>One IPv4 packet the kernel routed into the TUN: a reply for the pool (or from the peer's own host).</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput sink)
    {
        Counters.Increment(Ipv4PeerCounter.TunReceived);
        if (packet.Length < Ipv4Packet.MinHeaderLength || IpVersion.Of(packet) != IpVersion.V4) { Counters.Increment(Ipv4PeerCounter.TunNotIpv4); return; }
        if (_translator is null) { Counters.Increment(Ipv4PeerCounter.TunNoTranslator); return; }
        if (!_bandwidth.TryTake(nowMs, packet.Length + 20)) { Counters.Increment(Ipv4PeerCounter.TunBandwidthLimited); return; }
        Counters.Increment(Ipv4PeerCounter.TunTranslated);
        _router.Begin(sink, nowMs, fromIpv6: false);
        _translator.FromIpv4(nowMs, packet, _router);
    }

    /// <summary>Where a translated IPv6 packet goes: only from an address we hold, only to a relay we heard its destination through.</summary>
    internal bool TryRouteReply(long nowMs, Ipv6Address source, Ipv6Address destination, int length, out Ipv4Endpoint relay)
    {
        relay = default;
        if (!_held.TryGetValue(source, out var held)) { Counters.Increment(Ipv4PeerCounter.TunSourceNotHeld); return false; }
        if (!Relays.TryGet(destination, out var route)) { Counters.Increment(Ipv4PeerCounter.TunNoRelay); return false; }
        held.UsedOut(nowMs, length);
        route.PacketsOut++;
        relay = route.Relay;
        return true;
    }

    /// <summary>The sweep (every <see cref="SweepIntervalMs"/> from the first welcome) and the next use report, whichever comes first.</summary>
    public long NextDeadlineMs => Math.Min(_nextSweepMs == long.MinValue ? long.MaxValue : _nextSweepMs, _nextReportMs);

    /// <summary>The sweep when it is due; a use report due raises <see cref="Ipv4PeerEvent.ReportDue"/>.</summary>
    public void OnTimer(long nowMs, IPacketOutput output)
    {
        if (_nextSweepMs != long.MinValue && nowMs >= _nextSweepMs)
        {
            _nextSweepMs = nowMs + SweepIntervalMs;
            Sweep(nowMs);
        }
        if (nowMs >= _nextReportMs)
        {
            _nextReportMs = nowMs + _options.UseReportIntervalMs;
            _reportDue = true;
        }
    }

    /// <summary>A report due first, then refused leases waiting to be released; each signalled once until drained.</summary>
    public bool TryTakeEvent(out Ipv4PeerEvent engineEvent)
    {
        if (_reportDue)
        {
            _reportDue = false;
            engineEvent = Ipv4PeerEvent.ReportDue;
            return true;
        }
        if (_refused.Count > 0 && !_refusedSignalled)
        {
            _refusedSignalled = true;
            engineEvent = Ipv4PeerEvent.LeaseRefused;
            return true;
        }
        engineEvent = default;
        return false;
    }

    /// <summary>Forgets idle relay routes and leases whose end passed long ago (a release that never came).</summary>
    private void Sweep(long nowMs)
    {
        int n = Relays.Expire(nowMs);
        if (n > 0) Counters.Add(Ipv4PeerCounter.RelayRoutesExpired, n);
        long grace = _options.LeaseGraceSeconds * 1000L;
        _expired.Clear();
        foreach (var held in _held.Values)
            if (!held.IsStatic && nowMs > held.ExpiresMs + grace) _expired.Add(held.Address);
        foreach (var address in _expired)
        {
            _held.Remove(address);
            Counters.Increment(Ipv4PeerCounter.LeasesExpiredLocally);
        }
    }

    /// <summary>
    /// Appends one entry per held address that carried traffic since the last call (packets, seconds since
    /// the last one), as LeaseUseReport defines: a reported lease is renewed, an unreported one idles out.
    /// </summary>
    public void CollectUseReport(long nowMs, List<LeaseUse> into)
    {
        foreach (var held in _held.Values)
        {
            if (held.Unreported == 0) continue;
            long idle = Math.Max(0, nowMs - held.LastUseMs) / 1000;
            into.Add(new LeaseUse(held.Address, (uint)Math.Min(held.Unreported, uint.MaxValue), (ushort)Math.Min(idle, ushort.MaxValue)));
            held.Unreported = 0;
        }
    }

    /// <summary>Leases this peer refused to carry since the last call: the host releases them to the coordinator.</summary>
    public void TakeRefusedLeases(List<Ipv6Address> into)
    {
        into.AddRange(_refused);
        _refused.Clear();
        _refusedSignalled = false;
    }

    /// <summary>Folds an IPv6 source into the per-source limiter's 32-bit key.</summary>
    private static Ipv4Address Fold(Ipv6Address address)
    {
        ulong x = address.Upper ^ address.Lower;
        return new Ipv4Address((uint)(x ^ (x >> 32)));
    }
}
