using System.Buffers.Binary;
using Teredo.Net;

namespace Teredo.Wire;

/// <summary>Neighbor Discovery option types (RFC 4861 §4.6).</summary>
public static class NdOptionType
{
    public const byte SourceLinkLayerAddress = 1;
    public const byte PrefixInformation = 3;
    public const byte Mtu = 5;
}

/// <summary>One ND option: type, its bytes (type and length octets included).</summary>
public readonly ref struct NdOption
{
    public NdOption(byte type, ReadOnlySpan<byte> bytes)
    {
        Type = type;
        Bytes = bytes;
    }

    public byte Type { get; }
    public ReadOnlySpan<byte> Bytes { get; }
}

/// <summary>
/// Walks the options of an ND message. An option of length zero or one running past the end makes
/// the whole message invalid (RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains
/// an option with length zero"); <see cref="Malformed"/> tells the caller after the loop.
/// </summary>
public ref struct NdOptionReader
{
    private ReadOnlySpan<byte> _rest;

    public NdOptionReader(ReadOnlySpan<byte> options)
    {
        _rest = options;
        Malformed = false;
    }

    public bool Malformed { get; private set; }

    public bool TryRead(out NdOption option)
    {
        option = default;
        if (_rest.IsEmpty || Malformed) return false;
        if (_rest.Length < 2 || _rest[1] == 0 || _rest[1] * 8 > _rest.Length)
        {
            Malformed = true;
            return false;
        }
        int length = _rest[1] * 8;
        option = new NdOption(_rest[0], _rest.Slice(0, length));
        _rest = _rest.Slice(length);
        return true;
    }

    /// <summary>True when every option is well formed.</summary>
    public static bool Validate(ReadOnlySpan<byte> options)
    {
        var reader = new NdOptionReader(options);
        while (reader.TryRead(out _)) { }
        return !reader.Malformed;
    }
}

/// <summary>The Prefix Information option (RFC 4861 §4.6.2), 32 bytes.</summary>
public readonly record struct PrefixInformation(
    Ipv6Address Prefix,
    byte PrefixLength,
    bool OnLink,
    bool Autonomous,
    uint ValidLifetime,
    uint PreferredLifetime)
{
    public const int Length = 32;

    public static bool TryParse(ReadOnlySpan<byte> option, out PrefixInformation info)
    {
        info = default;
        if (option.Length != Length || option[0] != NdOptionType.PrefixInformation || option[2] > 128) return false;
        info = new PrefixInformation(
            Ipv6Address.Read(option.Slice(16)),
            option[2],
            (option[3] & 0x80) != 0,
            (option[3] & 0x40) != 0,
            BinaryPrimitives.ReadUInt32BigEndian(option.Slice(4)),
            BinaryPrimitives.ReadUInt32BigEndian(option.Slice(8)));
        return true;
    }

    public int Emit(Span<byte> destination)
    {
        destination.Slice(0, Length).Clear();
        destination[0] = NdOptionType.PrefixInformation;
        destination[1] = Length / 8;
        destination[2] = PrefixLength;
        destination[3] = (byte)((OnLink ? 0x80 : 0) | (Autonomous ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4), ValidLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(8), PreferredLifetime);
        Prefix.Write(destination.Slice(16));
        return Length;
    }
}

/// <summary>The MTU option (RFC 4861 §4.6.4), 8 bytes.</summary>
public static class MtuOption
{
    public const int Length = 8;

    public static bool TryParse(ReadOnlySpan<byte> option, out uint mtu)
    {
        mtu = 0;
        if (option.Length != Length || option[0] != NdOptionType.Mtu) return false;
        mtu = BinaryPrimitives.ReadUInt32BigEndian(option.Slice(4));
        return true;
    }

    public static int Emit(Span<byte> destination, uint mtu)
    {
        destination.Slice(0, Length).Clear();
        destination[0] = NdOptionType.Mtu;
        destination[1] = Length / 8;
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(4), mtu);
        return Length;
    }
}
