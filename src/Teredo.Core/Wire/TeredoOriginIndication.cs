using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// The origin indication (RFC 4380 §5.1.1): 0x00 0x00, then the obfuscated (bitwise inverted) port and
/// IPv4 address from which the server received the packet it relays or answers.
/// </summary>
public static class TeredoOriginIndication
{
    public const int Length = 8;

    public static bool IsPresent(ReadOnlySpan<byte> payload) => payload.Length >= 2 && payload[0] == 0 && payload[1] == 0;

    public static bool TryParse(ReadOnlySpan<byte> bytes, out Ipv4Endpoint origin)
    {
        origin = default;
        if (bytes.Length < Length || !IsPresent(bytes)) return false;
        origin = new Ipv4Endpoint(
            new Ipv4Address(~BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(4))),
            (ushort)~BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(2)));
        return true;
    }

    public static int Emit(Span<byte> destination, Ipv4Endpoint origin)
    {
        destination[0] = 0;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(2), (ushort)~origin.Port);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4), ~origin.Address.Value);
        return Length;
    }
}
