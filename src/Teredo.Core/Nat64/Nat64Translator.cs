using Teredo.Addressing;
using Teredo.Common;
using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Nat64;

/// <summary>
/// The stateless IP/ICMP translator (RFC 7915, addresses per RFC 6052 and RFC 7757). Sans-I/O: the host
/// hands in one packet and the current time; translated packets and the ICMP errors we originate go to
/// the sink. Nothing is allocated per packet and nothing is thrown: every input ends in exactly one
/// outcome counter. A buffer reserved from the sink and not committed is simply reused by the next
/// Reserve (the translator reserves before it knows whether an ICMP message is translatable).
/// One translator belongs to one thread (its counters, rate limiter and scratch buffer are its own); for
/// several TUN queues make one translator per queue over one shared <see cref="Nat64AddressMap"/> and add
/// their counters up.
/// </summary>
public sealed partial class Nat64Translator
{
    /// <summary>RFC 1812 §4.3.2.3 (ICMPv4 errors at most 576 bytes) and RFC 4443 §2.4 (ICMPv6 errors within the minimum MTU).</summary>
    public const int MaxIcmpv4ErrorLength = 576;
    public const int MaxIcmpv6ErrorLength = 1280;
    /// <summary>RFC 7915 §5.1: DF is set on a translated IPv6 packet only when it is larger than 1280 − 20 bytes.</summary>
    public const int DontFragmentThreshold = 1260;
    /// <summary>RFC 4884 §4: the original datagram is padded to at least 128 bytes when extensions follow.</summary>
    private const int Rfc4884MinimumOriginal = 128;

    private readonly Nat64Options _options;
    /// <summary>A copy of AllowedDestinations as an array: enumerating the IList per packet would allocate.</summary>
    private readonly (Ipv4Address Network, int Length)[] _allowed;
    private readonly int _ipv6Mtu;
    private readonly int _lowestIpv6Mtu;
    private readonly long _errorBurstMilli;
    private long _errorMilliTokens;
    private long _errorLastMs = long.MinValue;
    private ushort _nextIdentification;
    private readonly HairpinSink _hairpinSink = new();

    public Nat64Translator(Nat64Options options, Nat64AddressMap map)
    {
        options.Validate();
        _options = options;
        Map = map;
        _ipv6Mtu = options.Ipv6Mtu == 0 ? options.Ipv4Mtu : options.Ipv6Mtu;
        _lowestIpv6Mtu = options.EffectiveOfflinkMtu;
        _allowed = [.. options.AllowedDestinations];
        _errorBurstMilli = Math.Max(1, options.IcmpErrorsPerSecond) * 1000L;
        _errorMilliTokens = _errorBurstMilli;
        _nextIdentification = (ushort)Random.Shared.Next(65536);
    }

    public Nat64Counters Counters { get; } = new();
    public Nat64AddressMap Map { get; }

    /// <summary>IPv6 in → IPv4 out (or an ICMPv6 error back).</summary>
    public void FromIpv6(long nowMs, ReadOnlySpan<byte> packet, ITranslationSink sink)
    {
        Counters.Increment(Nat64Counter.Ipv6Received);
        Counters.Increment(Translate6To4(nowMs, packet, sink));
    }

    /// <summary>IPv4 in → IPv6 out (possibly several fragments, or an ICMPv4 error back).</summary>
    public void FromIpv4(long nowMs, ReadOnlySpan<byte> packet, ITranslationSink sink)
    {
        Counters.Increment(Nat64Counter.Ipv4Received);
        Counters.Increment(Translate4To6(nowMs, packet, sink));
    }

    /// <summary>Refusal of RFC 6890 destinations that are not globally reachable, unless allowed.</summary>
    private bool IsProhibitedDestination(Ipv4Address destination)
    {
        if (!_options.RefuseNonGlobalIpv4Destinations || !SpecialPurposeIpv4.IsSpecial(destination)) return false;
        foreach (var (network, length) in _allowed)
            if (destination.IsIn(network, length)) return false;
        return true;
    }

    /// <summary>One global token bucket for the errors we originate (RFC 4443 §2.4 f, RFC 1812 §4.3.2.8).</summary>
    private bool TakeErrorToken(long nowMs)
    {
        if (_options.IcmpErrorsPerSecond == 0) return true;
        if (_errorLastMs == long.MinValue) _errorLastMs = nowMs;
        if (nowMs > _errorLastMs)
        {
            _errorMilliTokens = Math.Min(_errorBurstMilli, _errorMilliTokens + (nowMs - _errorLastMs) * _options.IcmpErrorsPerSecond);
            _errorLastMs = nowMs;
        }
        if (_errorMilliTokens < 1000)
        {
            Counters.Increment(Nat64Counter.IcmpErrorsRateLimited);
            return false;
        }
        _errorMilliTokens -= 1000;
        return true;
    }

    /// <summary>An identification for an IPv4 packet that may be fragmented further on (RFC 6864 §4.1).</summary>
    private ushort NextIdentification() => ++_nextIdentification;

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
