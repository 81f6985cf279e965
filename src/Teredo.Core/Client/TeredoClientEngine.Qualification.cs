using Teredo.Addressing;
using Teredo.Common;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Client;

/// <summary>
/// Qualification (RFC 4380 §5.2.1) with the NAT type found in parallel rather than in sequence.
///
/// At start two Router Solicitations leave at once, each from its own link-local address: one with the
/// cone bit set (the server answers it from its secondary address, which only a cone NAT lets through)
/// and one without (answered from the primary address, through any NAT). The first valid answer
/// qualifies the client. The RFC's third probe, to the secondary address, cannot go out at the same
/// time: it would open the NAT to the secondary address and let the cone probe's answer through a
/// restricted NAT too. So it leaves when the cone probe has timed out (N × T, as in the RFC), and its
/// mapping, compared with the primary's, tells restricted from symmetric.
///
/// A cone-probe answer proves a cone NAT only when it comes from the other address than the one the
/// probe went to; an answer from the primary (some servers answer from both) proves nothing about the
/// NAT and only serves to qualify.
/// </summary>
public sealed partial class TeredoClientEngine
{
    private readonly QualificationProbe _coneProbe = new(ProbeKind.Cone);
    private readonly QualificationProbe _primaryProbe = new(ProbeKind.Primary);
    private readonly QualificationProbe _secondaryProbe = new(ProbeKind.Secondary);
    private readonly QualificationProbe _maintenanceProbe = new(ProbeKind.Maintenance);
    private readonly QualificationProbe _secondaryPortProbe = new(ProbeKind.SecondaryPort);

    /// <summary>The mapping the primary address saw in this qualification round; null until an answer came.</summary>
    private Ipv4Endpoint? _roundMapping;
    private bool _secondaryProbeSent;
    /// <summary>The last address held, so that re-qualifying on the same mapping keeps the same random bits.</summary>
    private TeredoAddress _lastAddress;
    private long _retryAtMs = long.MaxValue;

    public long StartedAtMs { get; private set; } = long.MinValue;
    public long QualifiedAtMs { get; private set; } = long.MinValue;

    /// <summary>Leaves the initial (or off-line) state: sends the first solicitations.</summary>
    public void Start(long nowMs, IPacketSink sink)
    {
        if (State is ClientState.Starting or ClientState.Qualified) return;
        BeginQualification(nowMs, sink);
    }

    private void BeginQualification(long nowMs, IPacketSink sink)
    {
        _roundMapping = null;
        _secondaryProbeSent = false;
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
    }

    private void StartProbe(QualificationProbe probe, bool cone, Ipv4Endpoint target, long nowMs, IPacketSink sink)
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
    private void SendProbe(QualificationProbe probe, long nowMs, IPacketSink sink)
    {
        var route = probe.Kind == ProbeKind.SecondaryPort ? PacketRoute.UdpSecondary : PacketRoute.Udp;
        var buffer = sink.Reserve(TeredoAuthentication.MinLength + 2 * byte.MaxValue + RouterSolicitation.PacketLength);
        var secret = _options.Secret;
        int offset = TeredoAuthentication.Emit(buffer, _options.ClientId, secret is null ? 0 : TeredoAuthentication.HmacSha1Length, probe.Nonce, 0);
        offset += RouterSolicitation.Emit(buffer.Slice(offset), probe.Source, Ipv6Address.AllRouters);
        if (secret is not null) TeredoAuthenticator.Sign(buffer.Slice(0, offset), secret);
        sink.Commit(route, probe.Target, offset);
        probe.Sent++;
        probe.NextMs = nowMs + _options.QualificationTimeoutMs;
        Count(ClientCounter.RouterSolicitationsSent);
    }

    private void QualificationTimer(long nowMs, IPacketSink sink)
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

    private void ProbeTimer(QualificationProbe probe, long nowMs, IPacketSink sink)
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

    private QualificationProbe? FindProbe(Ipv6Address destination, ClientPort port)
    {
        if (port == ClientPort.Secondary)
            return _secondaryPortProbe.Active && _secondaryPortProbe.Source == destination ? _secondaryPortProbe : null;
        if (_primaryProbe.Active && _primaryProbe.Source == destination) return _primaryProbe;
        if (_coneProbe.Active && _coneProbe.Source == destination) return _coneProbe;
        if (_secondaryProbe.Active && _secondaryProbe.Source == destination) return _secondaryProbe;
        if (_maintenanceProbe.Active && _maintenanceProbe.Source == destination) return _maintenanceProbe;
        return null;
    }

    private static bool IsRouterAdvertisement(Ipv6Packet ip) =>
        ip.NextHeader == IpProtocol.Icmpv6 && ip.Payload.Length > 0 && ip.Payload[0] == Icmpv6Type.RouterAdvertisement;

    /// <summary>
    /// The checks of §5.2.1 and §5.2.2 on an RA from the server: it answers one of our probes (its
    /// destination is that probe's link-local source), is a valid RFC 4861 RA with exactly one prefix,
    /// the prefix is the service prefix + the server's IPv4 address, an origin indication is present,
    /// and the nonce (and HMAC, when configured) match.
    /// </summary>
    private ClientCounter HandleRouterAdvertisement(long nowMs, ClientPort port, Ipv4Endpoint source, TeredoDatagram datagram, IPacketSink sink)
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

    private void OnProbeAnswered(QualificationProbe probe, Ipv4Endpoint origin, Ipv4Endpoint from, long nowMs, IPacketSink sink)
    {
        switch (probe.Kind)
        {
            case ProbeKind.Cone:
                bool proven = from.Address != probe.Target.Address;
                probe.Answer(origin, from, nowMs, done: proven);
                _roundMapping ??= origin;
                if (proven && NatType == NatType.Unknown) SetNatType(NatType.Cone, nowMs);
                TryQualify(nowMs, sink);
                break;
            case ProbeKind.Primary:
                probe.Answer(origin, from, nowMs, done: true);
                _roundMapping ??= origin;
                TryQualify(nowMs, sink);
                MaybeProbeSecondary(nowMs, sink);
                break;
            case ProbeKind.Secondary:
                probe.Answer(origin, from, nowMs, done: true);
                SetNatType(_roundMapping is { } reference && reference == origin ? NatType.Restricted : NatType.Symmetric, nowMs);
                if (_options.StrictSymmetric && NatType == NatType.Symmetric) GoOffline(nowMs);
                else TryQualify(nowMs, sink);
                break;
            case ProbeKind.Maintenance:
                probe.Answer(origin, from, nowMs, done: true);
                OnMaintenanceAnswered(origin, nowMs);
                break;
            case ProbeKind.SecondaryPort:
                probe.Answer(origin, from, nowMs, done: true);
                OnSecondaryPortAnswered(origin, nowMs);
                break;
        }
    }

    private void OnProbeFailed(QualificationProbe probe, long nowMs, IPacketSink sink)
    {
        switch (probe.Kind)
        {
            case ProbeKind.Cone:
            case ProbeKind.Primary:
                // Either may still qualify the client while the other is out (a cone NAT that lost one answer).
                if (_roundMapping is null)
                {
                    if (!_coneProbe.Active && !_primaryProbe.Active) GoOffline(nowMs);
                }
                else
                {
                    MaybeProbeSecondary(nowMs, sink);
                }
                break;
            case ProbeKind.Secondary:
                // §5.2.1: no answer from the secondary address means the service is not usable; we only
                // say so unless asked to be strict, since the primary's answer works for traffic.
                SetNatType(NatType.Unknown, nowMs, force: true);
                if (_options.StrictSymmetric) GoOffline(nowMs);
                break;
            case ProbeKind.Maintenance:
                OnServerLost(nowMs, sink);
                break;
            case ProbeKind.SecondaryPort:
                OnSecondaryPortFailed(nowMs);
                break;
        }
    }

    /// <summary>
    /// Sends the probe to the secondary address once it cannot spoil the cone test: the cone probe is
    /// over without proving a cone NAT, and the primary address has reported the mapping to compare with.
    /// </summary>
    private void MaybeProbeSecondary(long nowMs, IPacketSink sink)
    {
        if (NatType != NatType.Unknown || _roundMapping is null || _coneProbe.Active || _secondaryProbeSent) return;
        if (State is not (ClientState.Starting or ClientState.Qualified)) return;
        _secondaryProbeSent = true;
        StartProbe(_secondaryProbe, cone: false, _secondary, nowMs, sink);
    }

    private void SetNatType(NatType type, long nowMs, bool force = false)
    {
        if (NatType == type && !force) return;
        NatType = type;
        Raise(ClientEventKind.NatTypeDetermined, nowMs, _address);
    }

    /// <summary>Qualifies on the round's mapping once that is allowed: at once, or (strict) once the NAT is known to be usable.</summary>
    private void TryQualify(long nowMs, IPacketSink sink)
    {
        if (State != ClientState.Starting || _roundMapping is not { } mapping) return;
        if (_options.StrictSymmetric && NatType is not (NatType.Cone or NatType.Restricted)) return;
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
