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
    internal static class Field
    {
        public const int Type = 0;
        /// <summary>In units of 8 bytes, type and length octets included.</summary>
        public const int Length = 1;
    }

    /// <summary>Clears an option of <paramref name="length"/> bytes and writes its type and length octets.</summary>
    internal static void EmitHeader(Span<byte> destination, byte type, int length)
    {
        destination.Slice(0, length).Clear();
        destination[Field.Type] = type;
        destination[Field.Length] = (byte)(length / 8);
    }

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
        if (_rest.Length < 2 || _rest[NdOption.Field.Length] == 0 || _rest[NdOption.Field.Length] * 8 > _rest.Length)
        {
            Malformed = true;
            return false;
        }
        int length = _rest[NdOption.Field.Length] * 8;
        option = new NdOption(_rest[NdOption.Field.Type], _rest.Slice(0, length));
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
    private static class Field
    {
        public const int PrefixLength = 2;
        public const int Flags = 3;
        public const int ValidLifetime = 4;
        public const int PreferredLifetime = 8;
        public const int Prefix = 16;
    }

    public const int Length = 32;

    public static bool TryParse(ReadOnlySpan<byte> option, out PrefixInformation info)
    {
        info = default;
        if (option.Length != Length || option[NdOption.Field.Type] != NdOptionType.PrefixInformation || option[Field.PrefixLength] > 128) return false;
        info = new PrefixInformation(
            Ipv6Address.Read(option.Slice(Field.Prefix)),
            option[Field.PrefixLength],
            (option[Field.Flags] & 0x80) != 0,
            (option[Field.Flags] & 0x40) != 0,
            BinaryPrimitives.ReadUInt32BigEndian(option.Slice(Field.ValidLifetime)),
            BinaryPrimitives.ReadUInt32BigEndian(option.Slice(Field.PreferredLifetime)));
        return true;
    }

    public int Emit(Span<byte> destination)
    {
        NdOption.EmitHeader(destination, NdOptionType.PrefixInformation, Length);
        destination[Field.PrefixLength] = PrefixLength;
        destination[Field.Flags] = (byte)((OnLink ? 0x80 : 0) | (Autonomous ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(Field.ValidLifetime), ValidLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(Field.PreferredLifetime), PreferredLifetime);
        Prefix.Write(destination.Slice(Field.Prefix));
        return Length;
    }
}

/// <summary>The MTU option (RFC 4861 §4.6.4), 8 bytes.</summary>
public static class MtuOption
{
    /// <summary>After the type, the length and two reserved bytes.</summary>
    private const int MtuField = 4;

    public const int Length = 8;

    public static bool TryParse(ReadOnlySpan<byte> option, out uint mtu)
    {
        mtu = 0;
        if (option.Length != Length || option[NdOption.Field.Type] != NdOptionType.Mtu) return false;
        mtu = BinaryPrimitives.ReadUInt32BigEndian(option.Slice(MtuField));
        return true;
    }

    public static int Emit(Span<byte> destination, uint mtu)
    {
        NdOption.EmitHeader(destination, NdOptionType.Mtu, Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(MtuField), mtu);
        return Length;
    }
}
