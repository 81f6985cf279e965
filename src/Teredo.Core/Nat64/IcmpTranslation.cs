using Teredo.Net;
using Teredo.Wire;

namespace Teredo.Nat64;

/// <summary>The ICMP type, code and pointer tables of RFC 7915 §4.2 (ICMPv4 → ICMPv6) and §5.2 (ICMPv6 → ICMPv4).</summary>
public static class IcmpTranslation
{
    public static bool IsIcmpv4Error(byte type) =>
        type is Icmpv4Type.DestinationUnreachable or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem
            or Icmpv4Type.SourceQuench or Icmpv4Type.Redirect;

    public static bool IsIcmpv6Error(byte type) => type < 128;

    /// <summary>Whether <paramref name="message"/> (possibly cut short) starts with the type of an ICMPv4 error.</summary>
    public static bool IsIcmpv4Error(ReadOnlySpan<byte> message) => !message.IsEmpty && IsIcmpv4Error(message[IcmpHeader.Field.Type]);

    /// <summary>Whether <paramref name="message"/> (possibly cut short) starts with the type of an ICMPv6 error.</summary>
    public static bool IsIcmpv6Error(ReadOnlySpan<byte> message) => !message.IsEmpty && IsIcmpv6Error(message[IcmpHeader.Field.Type]);

    /// <summary>§4.2: false when the message is silently dropped (informational types other than echo, unknown codes).</summary>
    public static bool TryMap4To6(byte type, byte code, out byte type6, out byte code6)
    {
        type6 = 0;
        code6 = 0;
        switch (type)
        {
            case Icmpv4Type.EchoRequest: type6 = Icmpv6Type.EchoRequest; return true;
            case Icmpv4Type.EchoReply: type6 = Icmpv6Type.EchoReply; return true;
            case Icmpv4Type.DestinationUnreachable:
                type6 = Icmpv6Type.DestinationUnreachable;
                switch (code)
                {
                    case 0 or 1 or 5 or 6 or 7 or 8 or 11 or 12: code6 = 0; return true; // no route
                    case 2: type6 = Icmpv6Type.ParameterProblem; code6 = 1; return true;  // unrecognized next header, pointer 6
                    case 3: code6 = 4; return true;                                       // port unreachable
                    case 4: type6 = Icmpv6Type.PacketTooBig; code6 = 0; return true;
                    case 9 or 10 or 13 or 15: code6 = 1; return true;                    // administratively prohibited
                    default: return false;                                                // 14 and unknown codes
                }
            case Icmpv4Type.TimeExceeded:
                type6 = Icmpv6Type.TimeExceeded;
                code6 = code;
                return code <= 1;
            case Icmpv4Type.ParameterProblem:
                type6 = Icmpv6Type.ParameterProblem;
                code6 = 0;
                return code is 0 or 2;
            default:
                return false;
        }
    }

    /// <summary>§5.2: false when the message is silently dropped.</summary>
    public static bool TryMap6To4(byte type, byte code, out byte type4, out byte code4)
    {
        type4 = 0;
        code4 = 0;
        switch (type)
        {
            case Icmpv6Type.EchoRequest: type4 = Icmpv4Type.EchoRequest; return true;
            case Icmpv6Type.EchoReply: type4 = Icmpv4Type.EchoReply; return true;
            case Icmpv6Type.DestinationUnreachable:
                type4 = Icmpv4Type.DestinationUnreachable;
                switch (code)
                {
                    case 0 or 2 or 3: code4 = 1; return true;  // host unreachable
                    case 1: code4 = 10; return true;           // communication with host administratively prohibited
                    case 4: code4 = 3; return true;            // port unreachable
                    default: return false;
                }
            case Icmpv6Type.PacketTooBig:
                type4 = Icmpv4Type.DestinationUnreachable;
                code4 = 4;
                return code == 0;
            case Icmpv6Type.TimeExceeded:
                type4 = Icmpv4Type.TimeExceeded;
                code4 = code;
                return code <= 1;
            case Icmpv6Type.ParameterProblem:
                switch (code)
                {
                    case 0: type4 = Icmpv4Type.ParameterProblem; code4 = 0; return true;
                    case 1: type4 = Icmpv4Type.DestinationUnreachable; code4 = 2; return true; // protocol unreachable
                    default: return false;
                }
            default:
                return false;
        }
    }

    /// <summary>
    /// §4.2: the checksum of an ICMPv4 echo that becomes ICMPv6 type <paramref name="type6"/>, its bytes
    /// otherwise unchanged: the type word changes and ICMPv6 adds the pseudo-header of RFC 8200 §8.1
    /// (<paramref name="length"/> is the whole message's, which may be longer than the bytes at hand).
    /// </summary>
    public static ushort EchoChecksum4To6(IcmpHeader echo, byte type6, Ipv6Address source, Ipv6Address destination, uint length) =>
        Checksum.Update(echo.Checksum, (ulong)echo.Type << 8,
            ((ulong)type6 << 8) + Checksum.Ipv6PseudoHeader(source, destination, length, IpProtocol.Icmpv6));

    /// <summary>§5.2: the reverse of <see cref="EchoChecksum4To6"/>; the pseudo-header leaves the sum.</summary>
    public static ushort EchoChecksum6To4(IcmpHeader echo, byte type4, Ipv6Address source, Ipv6Address destination, uint length) =>
        Checksum.Update(echo.Checksum,
            ((ulong)echo.Type << 8) + Checksum.Ipv6PseudoHeader(source, destination, length, IpProtocol.Icmpv6), (ulong)type4 << 8);

    /// <summary>
    /// Rewrites an echo header in place with the type and checksum of the other ICMP (no pseudo-header on the
    /// IPv4 side). <paramref name="message"/> is the whole message when there is one (not a truncated quote).
    /// </summary>
    public static void TranslateEcho(Span<byte> message, bool toIpv6, byte type, Ipv6Address source, Ipv6Address destination, uint length)
    {
        var echo = new IcmpHeaderWriter(message);
        IcmpHeader.TryParse(message, out var before);
        echo.Checksum = toIpv6
            ? EchoChecksum4To6(before, type, source, destination, length)
            : EchoChecksum6To4(before, type, source, destination, length);
        echo.Type = type;
        // Only a whole ICMPv4 message can be all zeros (RFC 1624 §3); a truncated quote is left as computed.
        if (!toIpv6 && message.Length == length) echo.Checksum = Checksum.FixAllZero(echo.Checksum, message);
    }

    /// <summary>§4.2 Figure 3: the IPv6 pointer for an IPv4 Parameter Problem pointer, or -1 when there is none.</summary>
    public static int Pointer4To6(byte pointer) => pointer switch
    {
        0 => 0,          // version/IHL → version/traffic class
        1 => 1,          // type of service → traffic class/flow label
        2 or 3 => 4,     // total length → payload length
        8 => 7,          // TTL → hop limit
        9 => 6,          // protocol → next header
        >= 12 and <= 15 => 8,   // source address
        >= 16 and <= 19 => 24,  // destination address
        _ => -1,         // identification, flags, offset, checksum, options: no IPv6 equivalent
    };

    /// <summary>§5.2 Figure 6: the IPv4 pointer for an IPv6 Parameter Problem pointer, or -1 when there is none.</summary>
    public static int Pointer6To4(uint pointer) => pointer switch
    {
        0 => 0,
        1 => 1,
        4 or 5 => 2,
        6 => 9,
        7 => 8,
        >= 8 and <= 23 => 12,
        >= 24 and <= 39 => 16,
        _ => -1,
    };

    private static readonly int[] Plateaus = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

    /// <summary>RFC 1191 §7: the largest plateau below the returned datagram's total length, for a router that sent MTU 0.</summary>
    public static int Plateau(int totalLength)
    {
        foreach (int p in Plateaus)
            if (p < totalLength) return p;
        return 68;
    }
}
