using Teredo.Net;

namespace Teredo.Wire;

/// <summary>Why a UDP payload is not a Teredo packet; each value is a drop counter in the engines.</summary>
public enum TeredoParseError
{
    None = 0,
    Empty,
    /// <summary>Neither an IPv6 header, an origin indication nor an authentication encapsulation.</summary>
    UnknownEncapsulation,
    MalformedAuthentication,
    MalformedOriginIndication,
    /// <summary>An authentication encapsulation after an origin indication (§5.1.1: authentication comes first).</summary>
    MisorderedEncapsulation,
    NotIpv6,
    /// <summary>The IPv6 payload length disagrees with the UDP payload (§5.2.3).</summary>
    LengthMismatch,
}

/// <summary>
/// The classifier for a Teredo UDP payload (RFC 4380 §5.1.1): optional authentication encapsulation, then
/// optional origin indication, then exactly one IPv6 packet filling the rest of the datagram.
/// </summary>
public readonly ref struct TeredoDatagram
{
    private readonly ReadOnlySpan<byte> _payload;
    private readonly int _authLength;

    private TeredoDatagram(ReadOnlySpan<byte> payload, int authLength, bool hasOrigin, Ipv4Endpoint origin, Ipv6Packet ipv6)
    {
        _payload = payload;
        _authLength = authLength;
        HasOrigin = hasOrigin;
        Origin = origin;
        Ipv6 = ipv6;
    }

    public bool HasAuthentication => _authLength > 0;
    public TeredoAuthentication Authentication
    {
        get
        {
            TeredoAuthentication.TryParse(_payload, out var a);
            return a;
        }
    }
    public bool HasOrigin { get; }
    /// <summary>The de-obfuscated origin (address and port), when <see cref="HasOrigin"/>.</summary>
    public Ipv4Endpoint Origin { get; }
    public Ipv6Packet Ipv6 { get; }
    /// <summary>The whole UDP payload, for authentication checks.</summary>
    public ReadOnlySpan<byte> Payload => _payload;

    public static TeredoParseError TryParse(ReadOnlySpan<byte> payload, out TeredoDatagram datagram)
    {
        datagram = default;
        if (payload.IsEmpty) return TeredoParseError.Empty;
        int offset = 0;
        int authLength = 0;
        if (TeredoAuthentication.IsPresent(payload))
        {
            authLength = TeredoAuthentication.MeasureLength(payload);
            if (authLength < 0) return TeredoParseError.MalformedAuthentication;
            offset = authLength;
        }
        bool hasOrigin = false;
        Ipv4Endpoint origin = default;
        var rest = payload.Slice(offset);
        if (TeredoOriginIndication.IsPresent(rest))
        {
            if (!TeredoOriginIndication.TryParse(rest, out origin)) return TeredoParseError.MalformedOriginIndication;
            hasOrigin = true;
            rest = rest.Slice(TeredoOriginIndication.Length);
            if (TeredoAuthentication.IsPresent(rest)) return TeredoParseError.MisorderedEncapsulation;
        }
        if (rest.IsEmpty) return offset == 0 && !hasOrigin ? TeredoParseError.Empty : TeredoParseError.NotIpv6;
        if (rest[0] >> 4 != 6)
            return offset == 0 && !hasOrigin ? TeredoParseError.UnknownEncapsulation : TeredoParseError.NotIpv6;
        if (!Ipv6Packet.TryParse(rest, out var ipv6)) return rest.Length < Ipv6Packet.HeaderLength ? TeredoParseError.NotIpv6 : TeredoParseError.LengthMismatch;
        if (ipv6.TotalLength != rest.Length) return TeredoParseError.LengthMismatch;
        datagram = new TeredoDatagram(payload, authLength, hasOrigin, origin, ipv6);
        return TeredoParseError.None;
    }
}
