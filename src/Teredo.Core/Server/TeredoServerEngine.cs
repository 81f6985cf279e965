using System.Text;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Server;

/// <summary>
/// The Teredo server of RFC 4380 §5.3 as a sans-I/O engine: one received datagram in, at most one
/// datagram out, written into the caller's buffer. It keeps no per-client state; the only tables are
/// the bounded rate limiters that keep it from being a reflector (§7, RFC 5991). One instance per
/// thread; hosts sum the counters.
/// </summary>
public sealed class TeredoServerEngine
{
    /// <summary>Room the output buffer needs beyond the received payload (origin indication, RA).</summary>
    public const int OutputHeadroom = 1024;

    /// <summary>Retrans timer advertised in the RA, in milliseconds; Miredo and Windows servers send 2000.</summary>
    private const uint RetransTimerMs = 2000;

    private readonly ServerOptions _options;
    private readonly Ipv4Address _secondary;
    private readonly Ipv6Address _primaryLinkLocal;
    private readonly Ipv6Address _secondaryLinkLocal;
    private readonly Ipv6Address _prefix64;
    private readonly SourceRateLimiter _advertisementLimiter;
    private readonly SourceRateLimiter _forwardLimiter;
    private readonly FrozenSecretLookup _secrets;

    public TeredoServerEngine(ServerOptions options)
    {
        options.Validate();
        _options = options;
        _secondary = options.SecondaryAddress;
        _primaryLinkLocal = TeredoAddress.LinkLocal(TeredoFlags.Cone, new Ipv4Endpoint(options.Primary, TeredoAddress.Port));
        _secondaryLinkLocal = TeredoAddress.LinkLocal(TeredoFlags.Cone, new Ipv4Endpoint(_secondary, TeredoAddress.Port));
        _prefix64 = new Ipv6Address((options.ServicePrefix.Upper & 0xFFFF_FFFF_0000_0000) | options.Primary.Value, 0);
        _advertisementLimiter = new SourceRateLimiter(options.AdvertisementRatePerSource, options.AdvertisementBurstPerSource, options.RateLimitSlots);
        _forwardLimiter = new SourceRateLimiter(options.ForwardRatePerSource, options.ForwardBurstPerSource, options.RateLimitSlots);
        _secrets = new FrozenSecretLookup(options);
    }

    public ServerCounters Counters { get; } = new();
    public ServerOptions Options => _options;
    /// <summary>The Teredo prefix this server advertises (service prefix + primary IPv4), /64.</summary>
    public Ipv6Address AdvertisedPrefix => _prefix64;

    /// <summary>Handles one UDP payload received on <paramref name="via"/> from <paramref name="source"/>.</summary>
    public ServerOutput Process(long nowMs, ServerAddress via, Ipv4Endpoint source, ReadOnlySpan<byte> payload, Span<byte> output)
    {
        Counters.Increment(ServerCounter.Received);
        var outcome = Handle(nowMs, via, source, payload, output, out var result);
        Counters.Increment(outcome);
        return result;
    }

    private ServerCounter Handle(long nowMs, ServerAddress via, Ipv4Endpoint source, ReadOnlySpan<byte> payload, Span<byte> output, out ServerOutput result)
    {
        result = ServerOutput.None;
        // Rule 1: a well-formed Teredo packet.
        if (TeredoDatagram.TryParse(payload, out var datagram) != TeredoParseError.None) return ServerCounter.DropMalformed;
        var ip = datagram.Ipv6;
        bool isIcmp = Icmpv6Packet.TryParse(ip, out var icmp);
        // Rule 2: only bubbles and ICMPv6; a server does not carry data (§6.3).
        if (!isIcmp && !ip.IsBubble) return ServerCounter.DropNotBubbleOrIcmpv6;
        // Rule 3: the IPv4 source is global unicast.
        if (!Ipv4Classification.IsTeredoGlobalUnicast(source.Address)) return ServerCounter.DropSourceNotGlobal;

        var src = ip.Source;
        var dst = ip.Destination;
        // Rule 4: a Router Solicitation from a link-local address to all-routers.
        if (isIcmp && icmp.Type == Icmpv6Type.RouterSolicitation && src.IsLinkLocal && dst == Ipv6Address.AllRouters)
            return HandleRouterSolicitation(nowMs, via, source, datagram, icmp, output, out result);

        bool srcTeredo = TeredoAddress.IsTeredo(src, _options.ServicePrefix);
        bool dstTeredo = TeredoAddress.IsTeredo(dst, _options.ServicePrefix);
        // Rule 5: a Teredo source whose embedded mapping is where the packet came from.
        bool accepted = srcTeredo && new TeredoAddress(src).Mapped == source;
        // Rule 6: a non-Teredo source writing to a client of this server.
        accepted |= !srcTeredo && dstTeredo && new TeredoAddress(dst).Server == _options.Primary;
        // Rule 7.
        if (!accepted) return ServerCounter.DropSourceMismatch;

        if (dst == Ipv6Address.AllRouters || dst == _primaryLinkLocal || dst == _secondaryLinkLocal)
            return HandleLocal(via, source, ip, isIcmp, icmp, output, out result);
        if (!IsGlobalScope(dst)) return ServerCounter.DropDestinationNotGlobal;

        if (!dstTeredo)
        {
            if (!_options.Ipv6Forwarding) return ServerCounter.DropIpv6ForwardingDisabled;
            if (!isIcmp) return ServerCounter.DropIpv6NotIcmpv6;
            // Toward native IPv6 the server acts as an IPv6 router, so the hop limit counts.
            if (ip.HopLimit <= 1) return ServerCounter.DropHopLimitExceeded;
            if (!_forwardLimiter.TryTake(source.Address, nowMs)) return ServerCounter.DropRateLimited;
            ip.Bytes.CopyTo(output);
            Ipv6Packet.SetHopLimit(output, (byte)(ip.HopLimit - 1));
            result = new ServerOutput(ServerOutputKind.NativeIpv6, ServerAddress.Primary, default, ip.TotalLength);
            return ServerCounter.ForwardedToIpv6;
        }

        var target = new TeredoAddress(dst);
        if (!Ipv4Classification.IsTeredoGlobalUnicast(target.MappedAddress)) return ServerCounter.DropDestinationMappedNotGlobal;
        if (!_forwardLimiter.TryTake(source.Address, nowMs)) return ServerCounter.DropRateLimited;
        int offset = 0;
        // The origin indication tells our own client who is knocking (§5.3.1), so it can answer with a direct bubble.
        if (target.Server == _options.Primary)
            offset = TeredoOriginIndication.Emit(output, source);
        // Between Teredo clients the server re-encapsulates on the same link and leaves the hop limit
        // alone: Miredo sends its bubbles with hop limit 0.
        ip.Bytes.CopyTo(output.Slice(offset));
        result = new ServerOutput(ServerOutputKind.Udp, ServerAddress.Primary, target.Mapped, offset + ip.TotalLength);
        return ServerCounter.ForwardedToClient;
    }

    private ServerCounter HandleRouterSolicitation(long nowMs, ServerAddress via, Ipv4Endpoint source, TeredoDatagram datagram,
        Icmpv6Packet icmp, Span<byte> output, out ServerOutput result)
    {
        result = ServerOutput.None;
        var ip = datagram.Ipv6;
        if (!RouterSolicitation.IsValid(icmp) || ip.HopLimit != 255 || !icmp.VerifyChecksum(ip.Source, ip.Destination))
            return ServerCounter.DropRouterSolicitationInvalid;

        byte[]? secret = null;
        bool identifierValid = true;
        if (datagram.HasAuthentication)
        {
            var auth = datagram.Authentication;
            if (!auth.ClientId.IsEmpty)
            {
                secret = _secrets.Find(auth.ClientId);
                identifierValid = secret is not null;
                if (secret is not null && !TeredoAuthenticator.Verify(datagram.Payload, secret))
                    return ServerCounter.DropAuthenticationFailed;
            }
            if (_options.RequireAuthentication && secret is null) return ServerCounter.DropAuthenticationFailed;
        }
        else if (_options.RequireAuthentication)
        {
            return ServerCounter.DropAuthenticationMissing;
        }

        if (!_advertisementLimiter.TryTake(source.Address, nowMs)) return ServerCounter.DropRateLimited;

        // §5.3.2: a client that believes it is behind a cone NAT gets its answer from the other address.
        bool cone = new TeredoFlags((ushort)(ip.Source.Lower >> 48)).IsCone;
        var from = cone ? Other(via) : via;

        int offset = 0;
        if (datagram.HasAuthentication)
        {
            var auth = datagram.Authentication;
            offset = TeredoAuthentication.Emit(output, auth.ClientId, secret is null ? 0 : TeredoAuthentication.HmacSha1Length,
                auth.Nonce, identifierValid ? (byte)0 : (byte)1);
        }
        offset += TeredoOriginIndication.Emit(output.Slice(offset), source);
        var ra = new RouterAdvertisement(0, false, false, 0, 0, RetransTimerMs,
            new PrefixInformation(_prefix64, 64, OnLink: false, Autonomous: true, uint.MaxValue, uint.MaxValue),
            _options.Mtu);
        var linkLocal = from == ServerAddress.Primary ? _primaryLinkLocal : _secondaryLinkLocal;
        offset += ra.Emit(output.Slice(offset), linkLocal, ip.Source);
        if (secret is not null) TeredoAuthenticator.Sign(output.Slice(0, offset), secret);
        result = new ServerOutput(ServerOutputKind.Udp, from, source, offset);
        return ServerCounter.RouterAdvertisementSent;
    }

    /// <summary>Packets for the server itself: echo requests to its link-local address get a reply.</summary>
    private ServerCounter HandleLocal(ServerAddress via, Ipv4Endpoint source, Ipv6Packet ip, bool isIcmp, Icmpv6Packet icmp,
        Span<byte> output, out ServerOutput result)
    {
        result = ServerOutput.None;
        if (!isIcmp || ip.Destination == Ipv6Address.AllRouters || !Icmpv6Echo.TryParse(icmp, out var echo) || !echo.IsRequest
            || !icmp.VerifyChecksum(ip.Source, ip.Destination))
            return ServerCounter.DropUnhandledLocal;
        int length = Icmpv6Echo.Emit(output, ip.Destination, ip.Source, request: false, echo.Identifier, echo.Sequence, echo.Data);
        result = new ServerOutput(ServerOutputKind.Udp, via, source, length);
        return ServerCounter.EchoReplySent;
    }

    private static ServerAddress Other(ServerAddress a) => a == ServerAddress.Primary ? ServerAddress.Secondary : ServerAddress.Primary;

    private static bool IsGlobalScope(Ipv6Address a) =>
        !a.IsLinkLocal && !a.IsMulticast && !a.IsUnspecified && !a.IsLoopback;

    /// <summary>Client identifier bytes → secret without allocating: identifiers are compared as Latin-1 text.</summary>
    private sealed class FrozenSecretLookup
    {
        private readonly System.Collections.Frozen.FrozenDictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private readonly bool _empty;

        public FrozenSecretLookup(ServerOptions options)
        {
            _empty = options.ClientSecrets.Count == 0;
            _lookup = options.ClientSecrets.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public byte[]? Find(ReadOnlySpan<byte> clientId)
        {
            if (_empty) return null;
            Span<char> chars = stackalloc char[clientId.Length];
            Encoding.Latin1.GetChars(clientId, chars);
            return _lookup.TryGetValue(chars, out var secret) ? secret : null;
        }
    }
}
