using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Teredo.Wire;

/// <summary>
/// A read-only view of the authentication encapsulation (RFC 4380 §5.1.1): 0x00 0x01, ID-len, AU-len,
/// client identifier, authentication value, 8-byte nonce, confirmation byte.
/// </summary>
public readonly ref struct TeredoAuthentication
{
    private static class Field
    {
        public const int Indicator = 0;
        public const int IdLength = 2;
        public const int AuLength = 3;
        public const int ClientId = 4;
    }

    /// <summary>Header, nonce and confirmation byte: the length with empty identifier and value.</summary>
    public const int MinLength = Field.ClientId + NonceLength + 1;
    public const int NonceLength = 8;
    /// <summary>The HMAC-SHA1 output length: the AU-len of the default algorithm (§5.2.2).</summary>
    public const int HmacSha1Length = 20;

    private readonly ReadOnlySpan<byte> _buffer;

    private TeredoAuthentication(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    public static bool IsPresent(ReadOnlySpan<byte> payload) =>
        payload.Length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(payload.Slice(Field.Indicator)) == IndicatorValue;

    /// <summary>The two bytes that open the encapsulation (RFC 4380 §5.1.1).</summary>
    private const ushort IndicatorValue = 0x0001;

    /// <summary>The encapsulation's length, or -1 when <paramref name="payload"/> does not start with a complete one.</summary>
    public static int MeasureLength(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < MinLength || !IsPresent(payload)) return -1;
        int length = MinLength + payload[Field.IdLength] + payload[Field.AuLength];
        return length <= payload.Length ? length : -1;
    }

    public static bool TryParse(ReadOnlySpan<byte> payload, out TeredoAuthentication authentication)
    {
        authentication = default;
        int length = MeasureLength(payload);
        if (length < 0) return false;
        authentication = new TeredoAuthentication(payload.Slice(0, length));
        return true;
    }

    public int Length => _buffer.Length;
    public ReadOnlySpan<byte> ClientId => _buffer.Slice(Field.ClientId, _buffer[Field.IdLength]);
    public ReadOnlySpan<byte> AuthenticationValue => _buffer.Slice(AuthenticationValueOffset, _buffer[Field.AuLength]);
    /// <summary>Offset of the authentication value inside the encapsulation: where a signer writes it.</summary>
    public int AuthenticationValueOffset => Field.ClientId + _buffer[Field.IdLength];
    public ReadOnlySpan<byte> NonceBytes => _buffer.Slice(_buffer.Length - NonceLength - 1, NonceLength);
    public ulong Nonce => BinaryPrimitives.ReadUInt64BigEndian(NonceBytes);
    public byte Confirmation => _buffer[^1];
    /// <summary>Offset of the nonce inside the encapsulation: where the HMAC's clear text starts.</summary>
    public int NonceOffset => _buffer.Length - NonceLength - 1;

    /// <summary>
    /// Writes the encapsulation with a zeroed authentication value of <paramref name="authValueLength"/>
    /// bytes (filled later by <see cref="TeredoAuthenticator.Sign"/>); returns its length.
    /// </summary>
    public static int Emit(Span<byte> destination, ReadOnlySpan<byte> clientId, int authValueLength, ulong nonce, byte confirmation)
    {
        if (clientId.Length > byte.MaxValue || (uint)authValueLength > byte.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(clientId), "identifier and value are at most 255 bytes");
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(Field.Indicator), IndicatorValue);
        destination[Field.IdLength] = (byte)clientId.Length;
        destination[Field.AuLength] = (byte)authValueLength;
        clientId.CopyTo(destination.Slice(Field.ClientId));
        int offset = Field.ClientId + clientId.Length;
        destination.Slice(offset, authValueLength).Clear();
        offset += authValueLength;
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(offset), nonce);
        offset += NonceLength;
        destination[offset++] = confirmation;
        return offset;
    }
}

/// <summary>
/// The default authentication algorithm of RFC 4380 §5.2.2: HMAC-SHA1 keyed with the client's shared
/// secret over nonce, confirmation byte, origin indication (if present) and the IPv6 packet. Those four
/// are contiguous at the end of the UDP payload, so the clear text is one slice and nothing is copied.
/// </summary>
public static class TeredoAuthenticator
{
    /// <summary>Fills the authentication value of a datagram that starts with an authentication encapsulation.</summary>
    public static void Sign(Span<byte> udpPayload, ReadOnlySpan<byte> key)
    {
        if (!TeredoAuthentication.TryParse(udpPayload, out var auth) || auth.AuthenticationValue.Length != TeredoAuthentication.HmacSha1Length)
            throw new ArgumentException("payload lacks a 20-byte authentication value", nameof(udpPayload));
        HMACSHA1.HashData(key, udpPayload.Slice(auth.NonceOffset), udpPayload.Slice(auth.AuthenticationValueOffset, TeredoAuthentication.HmacSha1Length));
    }

    /// <summary>Checks the authentication value in constant time.</summary>
    public static bool Verify(ReadOnlySpan<byte> udpPayload, ReadOnlySpan<byte> key)
    {
        if (!TeredoAuthentication.TryParse(udpPayload, out var auth) || auth.AuthenticationValue.Length != TeredoAuthentication.HmacSha1Length)
            return false;
        Span<byte> expected = stackalloc byte[TeredoAuthentication.HmacSha1Length];
        HMACSHA1.HashData(key, udpPayload.Slice(auth.NonceOffset), expected);
        return CryptographicOperations.FixedTimeEquals(expected, auth.AuthenticationValue);
    }
}
