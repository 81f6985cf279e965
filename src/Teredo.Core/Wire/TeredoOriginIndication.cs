using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>
/// The origin indication (RFC 4380 §5.1.1): 0x00 0x00, then the obfuscated (bitwise inverted) port and
/// IPv4 address from which the server received the packet it relays or answers.
/// </summary>
public static class TeredoOriginIndication
{
    private static class Field
    {
        public const int Indicator = 0;
        public const int ObfuscatedPort = 2;
        public const int ObfuscatedAddress = 4;
    }

    public const int Length = 8;

    public static bool IsPresent(ReadOnlySpan<byte> payload) =>
        payload.Length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(payload.Slice(Field.Indicator)) == 0x0000;

    public static bool TryParse(ReadOnlySpan<byte> bytes, out Ipv4Endpoint origin)
    {
        origin = default;
        if (bytes.Length < Length || !IsPresent(bytes)) return false;
        origin = new Ipv4Endpoint(
            new Ipv4Address(~BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(Field.ObfuscatedAddress))),
            (ushort)~BinaryPrimitives.ReadUInt16BigEndian(bytes.Slice(Field.ObfuscatedPort)));
        return true;
    }

    public static int Emit(Span<byte> destination, Ipv4Endpoint origin)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(Field.Indicator), 0x0000);
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(Field.ObfuscatedPort), (ushort)~origin.Port);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(Field.ObfuscatedAddress), ~origin.Address.Value);
        return Length;
    }
}
