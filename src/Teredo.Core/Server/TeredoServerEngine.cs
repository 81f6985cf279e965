using System.Text;
using Teredo.Addressing;
using Teredo.Common;
using Teredo.Engines;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Server;

/// <summary>
/// The Teredo server of RFC 4380 §5.3 as a sans-I/O engine: one received datagram in (on
/// <see cref="PrimaryPort"/> or <see cref="SecondaryPort"/>), at most one packet out, written once into the
/// buffer the output reserves: a datagram from one of the two ports, or an ICMPv6 packet for native IPv6 on
/// <see cref="NativeIpv6Device"/>. It keeps no per-client state and has no timers; the only tables are the
/// bounded rate limiters (refilled lazily from the clock of each datagram) that keep it from being a
/// reflector (§7, RFC 5991). One instance per thread; hosts sum the counters.
/// </summary>
public sealed class TeredoServerEngine : IPacketEngine
{
    /// <summary>
    /// Room the output needs beyond the received payload: an answer is at most the payload's IPv6 packet
    /// plus an origin indication, or an RA (about 100 bytes) after the echoed authentication header (at most
    /// 13 + 2 × 255 bytes). Every answer reserves payload length + this, so a host that sizes its send slots
    /// as receive slot + this never truncates one.
    /// </summary>
    public const int OutputHeadroom = 1024;

    /// <summary>The socket on the primary address, port 3544: the address embedded in the clients' Teredo addresses.</summary>
    public static readonly PortHandle PrimaryPort = new(0);
    /// <summary>The socket on the secondary address, port 3544 (§5.3.2's cone test answers from the other one).</summary>
    public static readonly PortHandle SecondaryPort = new(1);
    /// <summary>The raw IPv6 sender toward native IPv6 (only with <see cref="ServerOptions.Ipv6Forwarding"/>); never read from.</summary>
    public static readonly DeviceHandle NativeIpv6Device = new(0);

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

    /// <summary>The server has no timers: its rate limiters refill from the clock of the datagrams themselves.</summary>
    public long NextDeadlineMs => long.MaxValue;

    /// <summary>Handles one UDP payload received on <paramref name="port"/> (primary or secondary) from <paramref name="source"/>.</summary>
    public void OnDatagram(long nowMs, PortHandle port, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
        Counters.Increment(ServerCounter.Received);
        Counters.Increment(Handle(nowMs, port == SecondaryPort ? SecondaryPort : PrimaryPort, source, payload, output));
    }

    /// <summary>The server's one device only sends; a packet "read" from it is a host mistake, dropped and counted.</summary>
    public void OnDevicePacket(long nowMs, DeviceHandle device, ReadOnlySpan<byte> packet, IPacketOutput output) =>
        Counters.Increment(ServerCounter.DevicePacketIgnored);

    /// <summary>Nothing to do: <see cref="NextDeadlineMs"/> is never due.</summary>
    public void OnTimer(long nowMs, IPacketOutput output) { }

    private ServerCounter Handle(long nowMs, PortHandle via, Ipv4Endpoint source, ReadOnlySpan<byte> payload, IPacketOutput output)
    {
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
            return HandleRouterSolicitation(nowMs, via, source, datagram, icmp, payload.Length, output);

        bool srcTeredo = TeredoAddress.IsTeredo(src, _options.ServicePrefix);
        bool dstTeredo = TeredoAddress.IsTeredo(dst, _options.ServicePrefix);
        // Rule 5: a Teredo source whose embedded mapping is where the packet came from.
        bool accepted = srcTeredo && new TeredoAddress(src).Mapped == source;
        // Rule 6: a non-Teredo source writing to a client of this server.
        accepted |= !srcTeredo && dstTeredo && new TeredoAddress(dst).Server == _options.Primary;
        // Rule 7.
        if (!accepted) return ServerCounter.DropSourceMismatch;

        if (dst == Ipv6Address.AllRouters || dst == _primaryLinkLocal || dst == _secondaryLinkLocal)
            return HandleLocal(via, source, ip, isIcmp, icmp, payload.Length, output);
        if (!IsGlobalScope(dst)) return ServerCounter.DropDestinationNotGlobal;

        if (!dstTeredo)
        {
            if (!_options.Ipv6Forwarding) return ServerCounter.DropIpv6ForwardingDisabled;
            if (!isIcmp) return ServerCounter.DropIpv6NotIcmpv6;
            // Toward native IPv6 the server acts as an IPv6 router, so the hop limit counts.
            if (ip.HopLimit <= 1) return ServerCounter.DropHopLimitExceeded;
            if (!_forwardLimiter.TryTake(source.Address, nowMs)) return ServerCounter.DropRateLimited;
            var forwarded = output.Reserve(payload.Length + OutputHeadroom);
            ip.Bytes.CopyTo(forwarded);
            new Ipv6PacketWriter(forwarded).HopLimit = (byte)(ip.HopLimit - 1);
            output.Write(NativeIpv6Device, ip.TotalLength);
            return ServerCounter.ForwardedToIpv6;
        }

        var target = new TeredoAddress(dst);
        if (!Ipv4Classification.IsTeredoGlobalUnicast(target.MappedAddress)) return ServerCounter.DropDestinationMappedNotGlobal;
        if (!_forwardLimiter.TryTake(source.Address, nowMs)) return ServerCounter.DropRateLimited;
        var buffer = output.Reserve(payload.Length + OutputHeadroom);
        int offset = 0;
        // The origin indication tells our own client who is knocking (§5.3.1), so it can answer with a direct bubble.
        if (target.Server == _options.Primary)
            offset = TeredoOriginIndication.Emit(buffer, source);
        // Between Teredo clients the server re-encapsulates on the same link and leaves the hop limit
        // alone: Miredo sends its bubbles with hop limit 0.
        ip.Bytes.CopyTo(buffer.Slice(offset));
        output.Send(PrimaryPort, target.Mapped, offset + ip.TotalLength);
        return ServerCounter.ForwardedToClient;
    }

    private ServerCounter HandleRouterSolicitation(long nowMs, PortHandle via, Ipv4Endpoint source, TeredoDatagram datagram,
        Icmpv6Packet icmp, int payloadLength, IPacketOutput output)
    {
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

        var buffer = output.Reserve(payloadLength + OutputHeadroom);
        int offset = 0;
        if (datagram.HasAuthentication)
        {
            var auth = datagram.Authentication;
            offset = TeredoAuthentication.Emit(buffer, auth.ClientId, secret is null ? 0 : TeredoAuthentication.HmacSha1Length,
                auth.Nonce, identifierValid ? (byte)0 : (byte)1);
        }
        offset += TeredoOriginIndication.Emit(buffer.Slice(offset), source);
        var ra = new RouterAdvertisement(0, false, false, 0, 0, RetransTimerMs,
            new PrefixInformation(_prefix64, 64, OnLink: false, Autonomous: true, uint.MaxValue, uint.MaxValue),
            _options.Mtu);
        var linkLocal = from == PrimaryPort ? _primaryLinkLocal : _secondaryLinkLocal;
        offset += ra.Emit(buffer.Slice(offset), linkLocal, ip.Source);
        if (secret is not null) TeredoAuthenticator.Sign(buffer.Slice(0, offset), secret);
        output.Send(from, source, offset);
        return ServerCounter.RouterAdvertisementSent;
    }

    /// <summary>Packets for the server itself: echo requests to its link-local address get a reply.</summary>
    private ServerCounter HandleLocal(PortHandle via, Ipv4Endpoint source, Ipv6Packet ip, bool isIcmp, Icmpv6Packet icmp,
        int payloadLength, IPacketOutput output)
    {
        if (!isIcmp || ip.Destination == Ipv6Address.AllRouters || !Icmpv6Echo.TryParse(icmp, out var echo) || !echo.IsRequest
            || !icmp.VerifyChecksum(ip.Source, ip.Destination))
            return ServerCounter.DropUnhandledLocal;
        int length = Icmpv6Echo.Emit(output.Reserve(payloadLength + OutputHeadroom), ip.Destination, ip.Source, request: false,
            echo.Identifier, echo.Sequence, echo.Data);
        output.Send(via, source, length);
        return ServerCounter.EchoReplySent;
    }

    private static PortHandle Other(PortHandle port) => port == PrimaryPort ? SecondaryPort : PrimaryPort;

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
