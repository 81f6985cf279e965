using System.Buffers.Binary;

namespace Teredo.P2p.Control;

/// <summary>The type byte of a control frame (docs/p2p-protocol.md).</summary>
public enum ControlMessageType : byte
{
    Hello = 0x01,
    Welcome = 0x02,
    Keepalive = 0x03,
    BubbleNotification = 0x04,
    LeaseGranted = 0x05,
    LeaseRenewed = 0x06,
    LeaseReleased = 0x07,
    LeaseRevoked = 0x08,
    LeaseUse = 0x09,
    Goodbye = 0x0A,
    Error = 0x0B,
}

/// <summary>What <see cref="ControlFrame.TryRead"/> found at the start of a receive buffer.</summary>
public enum FrameReadStatus
{
    Complete,
    /// <summary>The header or body is not all there yet: read more bytes.</summary>
    NeedMore,
    /// <summary>A length of zero or above <see cref="ControlFrame.MaxLength"/>: the session is broken.</summary>
    Malformed,
}

/// <summary>
/// A control-channel frame: <c>length (u16, big-endian, counts the type byte and the body) | type (u8) |
/// body</c>, sent over TLS 1.3 with ALPN <see cref="Alpn"/>. Field offsets of each message are declared
/// once in its own type; this class only knows the frame header.
/// </summary>
public static class ControlFrame
{
    public const string Alpn = "teredo-p2p/1";
    public const ushort DefaultPort = 3544;
    /// <summary>The one protocol version this code speaks; hello carries a range so later ones can negotiate.</summary>
    public const byte Version = 1;

    public const int LengthOffset = 0;
    public const int TypeOffset = 2;
    public const int HeaderLength = 3;
    /// <summary>The largest value of the length field: bounds what a peer can make the other side buffer.</summary>
    public const int MaxLength = 4096;
    public const int MaxFrameBytes = 2 + MaxLength;

    /// <summary>Splits the first frame off <paramref name="buffer"/> without copying.</summary>
    public static FrameReadStatus TryRead(ReadOnlySpan<byte> buffer, out ControlMessageType type, out ReadOnlySpan<byte> body, out int consumed)
    {
        type = default;
        body = default;
        consumed = 0;
        if (buffer.Length < 2) return FrameReadStatus.NeedMore;
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(LengthOffset));
        if (length == 0 || length > MaxLength) return FrameReadStatus.Malformed;
        if (buffer.Length < 2 + length) return FrameReadStatus.NeedMore;
        type = (ControlMessageType)buffer[TypeOffset];
        body = buffer.Slice(HeaderLength, length - 1);
        consumed = 2 + length;
        return FrameReadStatus.Complete;
    }

    /// <summary>Writes the whole frame of <paramref name="message"/>; returns its length. No boxing: T is a struct.</summary>
    public static int Emit<T>(Span<byte> destination, in T message) where T : struct, IControlMessage<T>
    {
        int bodyLength = message.BodyLength;
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(LengthOffset), (ushort)(bodyLength + 1));
        destination[TypeOffset] = (byte)T.Type;
        message.WriteBody(destination.Slice(HeaderLength, bodyLength));
        return HeaderLength + bodyLength;
    }

    /// <summary>The frame as a new array (tests, and the rare messages that are not on a packet path).</summary>
    public static byte[] ToArray<T>(in T message) where T : struct, IControlMessage<T>
    {
        var bytes = new byte[HeaderLength + message.BodyLength];
        Emit(bytes, message);
        return bytes;
    }

    /// <summary>Parses a whole frame that must hold exactly one message of type T.</summary>
    public static bool TryParse<T>(ReadOnlySpan<byte> frame, out T message) where T : struct, IControlMessage<T>
    {
        message = default;
        return TryRead(frame, out var type, out var body, out int consumed) == FrameReadStatus.Complete
            && consumed == frame.Length && type == T.Type && T.TryParseBody(body, out message);
    }
}

/// <summary>One message of the control protocol: its type byte, its body length and the body codec.</summary>
public interface IControlMessage<TSelf> where TSelf : struct, IControlMessage<TSelf>
{
    static abstract ControlMessageType Type { get; }
    int BodyLength { get; }
    void WriteBody(Span<byte> body);
    /// <summary>False for a body of the wrong length or with an invalid field; never throws.</summary>
    static abstract bool TryParseBody(ReadOnlySpan<byte> body, out TSelf message);
}
