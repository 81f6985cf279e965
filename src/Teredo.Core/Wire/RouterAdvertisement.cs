using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// Router Advertisement (RFC 4861 §4.2) as a value: the fixed fields plus the two options a Teredo
/// server sends, the Prefix Information (Teredo prefix + server IPv4, /64) and the MTU.
/// </summary>
public readonly record struct RouterAdvertisement(
    byte CurHopLimit,
    bool Managed,
    bool OtherConfig,
    ushort RouterLifetime,
    uint ReachableTime,
    uint RetransTimer,
    PrefixInformation? Prefix,
    uint? Mtu)
{
    private static class Field
    {
        public const int CurHopLimit = 4;
        public const int Flags = 5;
        public const int RouterLifetime = 6;
        public const int ReachableTime = 8;
        public const int RetransTimer = 12;
        public const int Options = 16;
    }

    /// <summary>ICMPv6 header plus the fixed RA fields.</summary>
    public const int FixedLength = Field.Options;

    /// <summary>
    /// Reads an RA. It is rejected when the type or code is wrong, when it is short, when any option is
    /// malformed, or when it carries more than one Prefix Information or MTU option (a Teredo server
    /// sends one of each; two would leave the client's address ambiguous).
    /// </summary>
    public static bool TryParse(Icmpv6Packet message, out RouterAdvertisement ra)
    {
        ra = default;
        var bytes = message.Bytes;
        if (message.Type != Icmpv6Type.RouterAdvertisement || message.Code != 0 || bytes.Length < FixedLength) return false;
        PrefixInformation? prefix = null;
        uint? mtu = null;
        var reader = new NdOptionReader(bytes.Slice(Field.Options));
        while (reader.TryRead(out var option))
        {
            switch (option.Type)
            {
                case NdOptionType.PrefixInformation:
                    if (prefix is not null || !PrefixInformation.TryParse(option.Bytes, out var p)) return false;
                    prefix = p;
                    break;
                case NdOptionType.Mtu:
                    if (mtu is not null || !MtuOption.TryParse(option.Bytes, out var m)) return false;
                    mtu = m;
                    break;
            }
        }
        if (reader.Malformed) return false;
        ra = new RouterAdvertisement(
            bytes[Field.CurHopLimit],
            (bytes[Field.Flags] & 0x80) != 0,
            (bytes[Field.Flags] & 0x40) != 0,
            BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(Field.RouterLifetime)),
            BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(Field.ReachableTime)),
            BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(Field.RetransTimer)),
            prefix,
            mtu);
        return true;
    }

    public int MessageLength => FixedLength + (Prefix is null ? 0 : PrefixInformation.Length) + (Mtu is null ? 0 : MtuOption.Length);

    /// <summary>Writes a whole IPv6 packet (hop limit 255) carrying this RA; returns its length.</summary>
    public int Emit(Span<byte> destination, Ipv6Address source, Ipv6Address target)
    {
        Span<byte> message = destination.Slice(Ipv6Packet.HeaderLength, MessageLength);
        message[Field.CurHopLimit] = CurHopLimit;
        message[Field.Flags] = (byte)((Managed ? 0x80 : 0) | (OtherConfig ? 0x40 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(message.Slice(Field.RouterLifetime), RouterLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(message.Slice(Field.ReachableTime), ReachableTime);
        BinaryPrimitives.WriteUInt32BigEndian(message.Slice(Field.RetransTimer), RetransTimer);
        int offset = Field.Options;
        if (Prefix is { } p) offset += p.Emit(message.Slice(offset));
        if (Mtu is { } m) offset += MtuOption.Emit(message.Slice(offset), m);
        return Icmpv6Packet.EmitPacket(destination, source, target, 255, Icmpv6Type.RouterAdvertisement, 0, MessageLength - Icmpv6Packet.HeaderLength);
    }
}
