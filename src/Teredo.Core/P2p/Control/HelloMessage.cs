using System.Buffers.Binary;
using System.Text;
using Teredo.Net;

namespace Teredo.P2p.Control;

/// <summary>
/// Peer → coordinator, first frame of a session: the version range the peer speaks, its identity (a random
/// 128-bit id it keeps in its state directory, so its static address survives restarts), an optional
/// join token, its own (usually RFC 1918) IPv4 address, how many leases it will carry and its bandwidth cap.
/// </summary>
public readonly record struct HelloMessage(
    byte MinVersion, byte MaxVersion, UInt128 Identity, Ipv4Address LocalAddress, uint Capacity, uint BandwidthKbps, string Token)
    : IControlMessage<HelloMessage>
{
    public const int MinVersionOffset = 0;
    public const int MaxVersionOffset = 1;
    public const int IdentityOffset = 2;
    public const int LocalAddressOffset = 18;
    public const int CapacityOffset = 22;
    public const int BandwidthOffset = 26;
    public const int TokenLengthOffset = 30;
    public const int TokenOffset = 31;
    public const int MaxTokenBytes = 255;

    public static ControlMessageType Type => ControlMessageType.Hello;

    public int BodyLength => TokenOffset + Encoding.UTF8.GetByteCount(Token ?? "");

    public void WriteBody(Span<byte> body)
    {
        body[MinVersionOffset] = MinVersion;
        body[MaxVersionOffset] = MaxVersion;
        BinaryPrimitives.WriteUInt128BigEndian(body.Slice(IdentityOffset), Identity);
        LocalAddress.Write(body.Slice(LocalAddressOffset));
        BinaryPrimitives.WriteUInt32BigEndian(body.Slice(CapacityOffset), Capacity);
        BinaryPrimitives.WriteUInt32BigEndian(body.Slice(BandwidthOffset), BandwidthKbps);
        int n = Encoding.UTF8.GetBytes(Token ?? "", body.Slice(TokenOffset));
        body[TokenLengthOffset] = checked((byte)n);
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out HelloMessage message)
    {
        message = default;
        if (body.Length < TokenOffset || body.Length != TokenOffset + body[TokenLengthOffset]) return false;
        if (body[MinVersionOffset] == 0 || body[MinVersionOffset] > body[MaxVersionOffset]) return false;
        var token = body.Slice(TokenOffset);
        if (!System.Text.Unicode.Utf8.IsValid(token)) return false;
        message = new HelloMessage(body[MinVersionOffset], body[MaxVersionOffset],
            BinaryPrimitives.ReadUInt128BigEndian(body.Slice(IdentityOffset)),
            Ipv4Address.Read(body.Slice(LocalAddressOffset)),
            BinaryPrimitives.ReadUInt32BigEndian(body.Slice(CapacityOffset)),
            BinaryPrimitives.ReadUInt32BigEndian(body.Slice(BandwidthOffset)),
            Encoding.UTF8.GetString(token));
        return true;
    }

    /// <summary>Whether a token fits the one-byte length field.</summary>
    public static bool IsValidToken(string token) => Encoding.UTF8.GetByteCount(token) <= MaxTokenBytes;
}
