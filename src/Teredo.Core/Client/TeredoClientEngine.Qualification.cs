using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>
/// Qualification (RFC 4380 §5.2.1) with the NAT type found in parallel rather than in sequence.
///
/// At start three Router Solicitations leave at once, each from its own link-local source (so that an
/// RA's destination says which one it answers) with its own nonce:
/// <list type="bullet">
/// <item>to the primary address, cone bit clear, from the service port: its answer qualifies the client
/// (the address embeds the mapping the primary address saw);</item>
/// <item>to the secondary address, cone bit clear, from the service port: its mapping, compared with the
/// primary's, tells symmetric from not symmetric;</item>
/// <item>to the primary address, cone bit set, from a separate probe socket: the server answers it from
/// its secondary address, which only a NAT that filters nothing lets through.</item>
/// </list>
/// The cone probe cannot share the service port with the secondary probe: that probe opens the NAT to
/// the secondary address and would let the cone answer through a restricted NAT. Nor can it go first on
/// the service port, as the RFC has it: a Linux NAT keeps the filtered cone answer as a conntrack entry
/// for 30 s, and the secondary probe's mapping then collides with it and gets another port, which looks
/// symmetric. Filtering is the NAT's policy, not the socket's, so the probe socket answers the question.
///
/// A cone answer proves a cone NAT only when it comes from the other address than the one the probe
/// went to (some servers answer from both). Verdicts: different mappings, symmetric; same mapping and a
/// proven cone, cone; same mapping and the cone probe unanswered after N × T, restricted; no answer
/// from the secondary address, cone if proven, else unknown.
/// </summary>
public sealed partial class TeredoClientEngine
{
    private readonly QualificationProbe _coneProbe = new(ProbeKind.Cone);
    private readonly QualificationProbe _primaryProbe = new(ProbeKind.Primary);
    private readonly QualificationProbe _secondaryProbe = new(ProbeKind.Secondary);
    private readonly QualificationProbe _maintenanceProbe = new(ProbeKind.Maintenance);
    private readonly QualificationProbe _secondaryPortProbe = new(ProbeKind.SecondaryPort);

    /// <summary>The NAT type of this round is final (set or given up on); until then <see cref="NatType"/> is provisional.</summary>
    private bool _natTypeFinal;
    /// <summary>The last address held, so that re-qualifying on the same mapping keeps the same random bits.</summary>
    private TeredoAddress _lastAddress;
    private long _retryAtMs = long.MaxValue;

    public long StartedAtMs { get; private set; } = long.MinValue;
    public long QualifiedAtMs { get; private set; } = long.MinValue;
    /// <summary>The NAT type will not change any more in this qualification round.</summary>
    public bool NatTypeFinal => _natTypeFinal;
    /// <summary>When this round's NAT type became final.</summary>
    public long NatTypeFinalAtMs { get; private set; } = long.MinValue;

    /// <summary>Leaves the initial (or off-line) state: sends the first solicitations.</summary>
    public void Start(long nowMs, IPacketOutput sink)
    {
        if (State is ClientState.Starting or ClientState.Qualified) return;
        BeginQualification(nowMs, sink);
    }

    private void BeginQualification(long nowMs, IPacketOutput sink)
    {
        _natTypeFinal = false;
        _retryAtMs = long.MaxValue;
        NatType = NatType.Unknown;
        _coneProbe.Cancel();
        _primaryProbe.Cancel();
        _secondaryProbe.Cancel();
        _maintenanceProbe.Cancel();
        StartedAtMs = nowMs;
        SetState(ClientState.Starting, nowMs);
        StartProbe(_coneProbe, cone: true, _primary, nowMs, sink);
        StartProbe(_primaryProbe, cone: false, _primary, nowMs, sink);
        StartProbe(_secondaryProbe, cone: false, _secondary, nowMs, sink);
    }

    private void StartProbe(QualificationProbe probe, bool cone, Ipv4Endpoint target, long nowMs, IPacketOutput sink)
    {
        ulong nonce = _random.NextUInt64();
        var source = ProbeSource(cone, _random.NextUInt64());
        while (IsProbeSource(source)) source = new Ipv6Address(source.Upper, source.Lower ^ 1);
        probe.Begin(cone, target, source, nonce, nowMs);
        SendProbe(probe, nowMs, sink);
    }

    /// <summary>
    /// fe80:: with flags (the cone bit as asked, the RFC 5991 random bits) and 48 more random bits: the
    /// server reads only the cone bit, and distinct sources tell the probes' answers apart.
    /// </summary>
    private static Ipv6Address ProbeSource(bool cone, ulong bits)
    {
        ulong flags = (cone ? TeredoFlags.ConeMask : 0u) | ((uint)(bits >> 48) & TeredoFlags.RandomMask);
        return new Ipv6Address(0xFE80_0000_0000_0000, flags << 48 | (bits & 0xFFFF_FFFF_FFFF));
    }

    private bool IsProbeSource(Ipv6Address source) =>
        (_coneProbe.Active && _coneProbe.Source == source) || (_primaryProbe.Active && _primaryProbe.Source == source)
        || (_secondaryProbe.Active && _secondaryProbe.Source == source) || (_maintenanceProbe.Active && _maintenanceProbe.Source == source)
        || (_secondaryPortProbe.Active && _secondaryPortProbe.Source == source);

    /// <summary>An RS with an authentication encapsulation: always a nonce, and the HMAC when configured (§5.2.2).</summary>
    private void SendProbe(QualificationProbe probe, long nowMs, IPacketOutput sink)
    {
        var route = probe.Kind switch
        {
            ProbeKind.SecondaryPort => ClientPort.Secondary,
            ProbeKind.Cone => ClientPort.Probe,
            _ => ClientPort.Service,
        };
        var buffer = sink.Reserve(TeredoAuthentication.MinLength + 2 * byte.MaxValue + RouterSolicitation.PacketLength);
        var secret = _options.Secret;
        int offset = TeredoAuthentication.Emit(buffer, _options.ClientId, secret is null ? 0 : TeredoAuthentication.HmacSha1Length, probe.Nonce, 0);
        offset += RouterSolicitation.Emit(buffer.Slice(offset), probe.Source, Ipv6Address.AllRouters);
        if (secret is not null) TeredoAuthenticator.Sign(buffer.Slice(0, offset), secret);
        sink.Send(route, probe.Target, offset);
        probe.Sent++;
        probe.NextMs = nowMs + _options.QualificationTimeoutMs;
        Count(ClientCounter.RouterSolicitationsSent);
    }

    private void QualificationTimer(long nowMs, IPacketOutput sink)
    {
        if (State == ClientState.Offline && nowMs >= _retryAtMs)
        {
            BeginQualification(nowMs, sink);
            return;
        }
        ProbeTimer(_coneProbe, nowMs, sink);
        ProbeTimer(_primaryProbe, nowMs, sink);
        ProbeTimer(_secondaryProbe, nowMs, sink);
        ProbeTimer(_maintenanceProbe, nowMs, sink);
        ProbeTimer(_secondaryPortProbe, nowMs, sink);
    }

    private void ProbeTimer(QualificationProbe probe, long nowMs, IPacketOutput sink)
    {
        if (!probe.Active || nowMs < probe.NextMs) return;
        if (probe.Sent < _options.QualificationAttempts)
        {
            SendProbe(probe, nowMs, sink);
            return;
        }
        probe.Fail();
        OnProbeFailed(probe, nowMs, sink);
    }

    private QualificationProbe? FindProbe(Ipv6Address destination, PortHandle port)
    {
        if (port == ClientPort.Secondary)
            return _secondaryPortProbe.Active && _secondaryPortProbe.Source == destination ? _secondaryPortProbe : null;
        if (port == ClientPort.Probe)
            return _coneProbe.Active && _coneProbe.Source == destination ? _coneProbe : null;
        if (_primaryProbe.Active && _primaryProbe.Source == destination) return _primaryProbe;
        if (_secondaryProbe.Active && _secondaryProbe.Source == destination) return _secondaryProbe;
        if (_maintenanceProbe.Active && _maintenanceProbe.Source == destination) return _maintenanceProbe;
        return null;
    }

    private static bool IsRouterAdvertisement(Ipv6Packet ip) =>
        Icmpv6Packet.TryParse(ip, out var icmp) && icmp.Type == Icmpv6Type.RouterAdvertisement;

    /// <summary>
    /// The checks of §5.2.1 and §5.2.2 on an RA from the server: it answers one of our probes (its
    /// destination is that probe's link-local source), is a valid RFC 4861 RA with exactly one prefix,
    /// the prefix is the service prefix + the server's IPv4 address, an origin indication is present,
    /// and the nonce (and HMAC, when configured) match.
    /// </summary>
    private ClientCounter HandleRouterAdvertisement(long nowMs, PortHandle port, Ipv4Endpoint source, TeredoDatagram datagram, IPacketOutput sink)
    {
        var ip = datagram.Ipv6;
        var probe = FindProbe(ip.Destination, port);
        if (probe is null) return ClientCounter.RouterAdvertisementUnexpected;
        if (!datagram.HasOrigin || ip.HopLimit != 255 || !ip.Source.IsLinkLocal
            || !Icmpv6Packet.TryParse(ip, out var icmp) || !icmp.VerifyChecksum(ip.Source, ip.Destination)
            || !RouterAdvertisement.TryParse(icmp, out var ra) || ra.Prefix is not { } prefix)
            return ClientCounter.RouterAdvertisementInvalid;
        if (prefix.PrefixLength != 64 || prefix.Prefix.Upper != _expectedPrefix) return ClientCounter.RouterAdvertisementWrongPrefix;
        if (!datagram.HasAuthentication) return ClientCounter.RouterAdvertisementBadNonce;
        var auth = datagram.Authentication;
        if (auth.Nonce != probe.Nonce) return ClientCounter.RouterAdvertisementBadNonce;
        if (_options.Secret is { } secret && !TeredoAuthenticator.Verify(datagram.Payload, secret))
            return ClientCounter.RouterAdvertisementBadAuthentication;
        if (auth.Confirmation != 0)
        {
            Count(ClientCounter.KeyRenewalRequests);
            Raise(ClientEventKind.KeyRenewalRequested, nowMs, _address, value: auth.Confirmation);
        }
        if (port == ClientPort.Service) _lastServerMs = nowMs;
        AdvertisedMtu = ra.Mtu ?? 0;
        OnProbeAnswered(probe, datagram.Origin, source, nowMs, sink);
        return ClientCounter.RouterAdvertisementAccepted;
    }

    private void OnProbeAnswered(QualificationProbe probe, Ipv4Endpoint origin, Ipv4Endpoint from, long nowMs, IPacketOutput sink)
    {
        switch (probe.Kind)
        {
            case ProbeKind.Cone:
                // Proof only from the other address; an answer from the one it went to leaves the probe waiting.
                probe.Answer(origin, from, nowMs, done: from.Address != probe.Target.Address);
                break;
            case ProbeKind.Primary:
                probe.Answer(origin, from, nowMs, done: true);
                if (!_options.StrictSymmetric) Qualify(origin, nowMs, sink);
                break;
            case ProbeKind.Secondary:
                probe.Answer(origin, from, nowMs, done: true);
                break;
            case ProbeKind.Maintenance:
                probe.Answer(origin, from, nowMs, done: true);
                OnMaintenanceAnswered(origin, nowMs);
                return;
            case ProbeKind.SecondaryPort:
                probe.Answer(origin, from, nowMs, done: true);
                OnSecondaryPortAnswered(origin, nowMs);
                return;
        }
        Refine(nowMs, sink);
    }

    private void OnProbeFailed(QualificationProbe probe, long nowMs, IPacketOutput sink)
    {
        switch (probe.Kind)
        {
            case ProbeKind.Primary:
                // The address embeds what the primary address sees: without its answer, no Teredo.
                GoOffline(nowMs);
                return;
            case ProbeKind.Cone or ProbeKind.Secondary:
                Refine(nowMs, sink);
                return;
            case ProbeKind.Maintenance:
                OnServerLost(nowMs, sink);
                return;
            case ProbeKind.SecondaryPort:
                OnSecondaryPortFailed(nowMs);
                return;
        }
    }

    private bool ConeProven => _coneProbe.Answered && _coneProbe.AnsweredFrom.Address != _coneProbe.Target.Address;

    /// <summary>
    /// Draws what can be drawn from the answers so far: the NAT type once it is final, and, in strict
    /// mode, whether to qualify (not symmetric: same mapping, or a cone NAT) or to refuse.
    /// </summary>
    private void Refine(long nowMs, IPacketOutput sink)
    {
        if (_natTypeFinal || State is not (ClientState.Starting or ClientState.Qualified) || !_primaryProbe.Answered) return;
        var primary = _primaryProbe.Mapped;
        bool secondaryAnswered = _secondaryProbe.Answered, secondaryFailed = _secondaryProbe.Failed;
        bool sameMapping = secondaryAnswered && _secondaryProbe.Mapped == primary;
        bool coneFailed = _coneProbe.Failed && !ConeProven;

        NatType? verdict = null;
        if (secondaryAnswered && !sameMapping) verdict = NatType.Symmetric;
        else if (ConeProven && (sameMapping || secondaryFailed)) verdict = NatType.Cone;
        else if (sameMapping && coneFailed) verdict = NatType.Restricted;
        else if (secondaryFailed && coneFailed) verdict = NatType.Unknown;

        if (_options.StrictSymmetric && State == ClientState.Starting)
        {
            // RFC 4380: a cone NAT qualifies at once; otherwise only the same mapping from both addresses does.
            if (sameMapping || (ConeProven && (secondaryFailed || sameMapping))) Qualify(primary, nowMs, sink);
            else if (verdict is NatType.Symmetric or NatType.Unknown) { SetNatType(verdict.Value, nowMs); GoOffline(nowMs); return; }
        }
        if (verdict is { } type)
        {
            _coneProbe.Cancel();
            SetNatType(type, nowMs);
        }
    }

    private void SetNatType(NatType type, long nowMs)
    {
        _natTypeFinal = true;
        NatTypeFinalAtMs = nowMs;
        NatType = type;
        Raise(ClientEventKind.NatTypeDetermined, nowMs, _address);
    }

    /// <summary>Qualified on <paramref name="mapping"/>, the primary address's view.</summary>
    private void Qualify(Ipv4Endpoint mapping, long nowMs, IPacketOutput sink)
    {
        if (State != ClientState.Starting) return;
        var address = BuildAddress(mapping);
        SetAddress(address, mapping, nowMs);
        QualifiedAtMs = nowMs;
        _lastServerMs = Math.Max(_lastServerMs, nowMs);
        _randomizedRefreshMs = NextRandomizedRefresh();
        SetState(ClientState.Qualified, nowMs);
        Raise(ClientEventKind.AddressAcquired, nowMs, _address);
        AnnounceOnLink(nowMs, sink);
        StartRefreshDetermination(nowMs, sink);
    }

    /// <summary>
    /// Prefix + flags + obfuscated mapping. RFC 5991 deprecates the cone bit, so it stays clear (as
    /// Miredo's does) whatever the NAT; the 12 random bits are new for each new mapping and kept when
    /// the client re-qualifies on the same one.
    /// </summary>
    private TeredoAddress BuildAddress(Ipv4Endpoint mapping)
    {
        if (_lastAddress.Address != default && _lastAddress.Mapped == mapping && _lastAddress.Server == _options.Server)
            return _lastAddress;
        var flags = TeredoFlags.Create(cone: false, (ushort)(_random.NextUInt64() & 0xFFF));
        return TeredoAddress.Create(_options.ServicePrefix, _options.Server, flags, mapping);
    }

    private void SetAddress(TeredoAddress address, Ipv4Endpoint mapping, long nowMs)
    {
        _address = address;
        _lastAddress = address;
        _mapped = mapping;
        _linkLocal = new Ipv6Address(0xFE80_0000_0000_0000, address.Address.Lower);
        HasAddress = true;
        _nextDiscoveryMs = nowMs;
    }

    private void WithdrawAddress(long nowMs)
    {
        if (!HasAddress) return;
        var old = _address;
        HasAddress = false;
        _address = default;
        _linkLocal = default;
        Raise(ClientEventKind.AddressLost, nowMs, previous: old);
    }

    private void GoOffline(long nowMs)
    {
        _coneProbe.Cancel();
        _primaryProbe.Cancel();
        _secondaryProbe.Cancel();
        _maintenanceProbe.Cancel();
        StopRefreshDetermination(nowMs);
        WithdrawAddress(nowMs);
        ClearPeers();
        _retryAtMs = nowMs + _options.OfflineRetryMs;
        SetState(ClientState.Offline, nowMs);
    }
}
