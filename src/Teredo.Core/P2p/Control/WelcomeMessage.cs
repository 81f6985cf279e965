using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.P2p.Control;

/// <summary>
/// Coordinator → peer, answer to hello: the chosen version, the coordinator's public IPv4 S and its /64
/// (the upper 64 bits), the peer's static address with its suffix (all zero when the peer has none) and
/// the timing the peer must follow.
/// </summary>
public readonly record struct WelcomeMessage(
    byte Version, Ipv4Address Coordinator, ulong Prefix, Ipv6Address StaticAddress, uint StaticSuffix,
    ushort LeaseIdleSeconds, ushort KeepaliveSeconds, ushort SessionTimeoutSeconds, uint MaxLeases)
    : IControlMessage<WelcomeMessage>
{
    public const int VersionOffset = 0;
    public const int CoordinatorOffset = 1;
    public const int PrefixOffset = 5;
    public const int StaticAddressOffset = 13;
    public const int StaticSuffixOffset = 29;
    public const int LeaseIdleOffset = 33;
    public const int KeepaliveOffset = 35;
    public const int SessionTimeoutOffset = 37;
    public const int MaxLeasesOffset = 39;
    public const int Length = 43;

    public static ControlMessageType Type => ControlMessageType.Welcome;

    public int BodyLength => Length;

    public bool HasStaticAddress => StaticSuffix != 0;

    public void WriteBody(Span<byte> body)
    {
        body[VersionOffset] = Version;
        Coordinator.Write(body.Slice(CoordinatorOffset));
        BinaryPrimitives.WriteUInt64BigEndian(body.Slice(PrefixOffset), Prefix);
        StaticAddress.Write(body.Slice(StaticAddressOffset));
        BinaryPrimitives.WriteUInt32BigEndian(body.Slice(StaticSuffixOffset), StaticSuffix);
        BinaryPrimitives.WriteUInt16BigEndian(body.Slice(LeaseIdleOffset), LeaseIdleSeconds);
        BinaryPrimitives.WriteUInt16BigEndian(body.Slice(KeepaliveOffset), KeepaliveSeconds);
        BinaryPrimitives.WriteUInt16BigEndian(body.Slice(SessionTimeoutOffset), SessionTimeoutSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(body.Slice(MaxLeasesOffset), MaxLeases);
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out WelcomeMessage message)
    {
        message = default;
        if (body.Length != Length) return false;
        uint suffix = BinaryPrimitives.ReadUInt32BigEndian(body.Slice(StaticSuffixOffset));
        ushort keepalive = BinaryPrimitives.ReadUInt16BigEndian(body.Slice(KeepaliveOffset));
        if (suffix > 0xFF_FFFF || keepalive == 0 || body[VersionOffset] == 0) return false;
        message = new WelcomeMessage(body[VersionOffset], Ipv4Address.Read(body.Slice(CoordinatorOffset)),
            BinaryPrimitives.ReadUInt64BigEndian(body.Slice(PrefixOffset)), Ipv6Address.Read(body.Slice(StaticAddressOffset)), suffix,
            BinaryPrimitives.ReadUInt16BigEndian(body.Slice(LeaseIdleOffset)), keepalive,
            BinaryPrimitives.ReadUInt16BigEndian(body.Slice(SessionTimeoutOffset)),
            BinaryPrimitives.ReadUInt32BigEndian(body.Slice(MaxLeasesOffset)));
        return true;
    }
}
