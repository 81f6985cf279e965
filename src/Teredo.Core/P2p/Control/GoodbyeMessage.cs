using System.Buffers.Binary;
using System.Text;

namespace Teredo.P2p.Control;

public enum GoodbyeReason : byte
{
    Shutdown = 1,
    /// <summary>A newer session with the same identity replaced this one.</summary>
    Superseded = 2,
    Timeout = 3,
    ProtocolError = 4,
    Unauthorized = 5,
    Full = 6,
}

public enum ControlErrorCode : ushort
{
    MalformedFrame = 1,
    UnexpectedMessage = 2,
    VersionUnsupported = 3,
    Unauthorized = 4,
    CoordinatorFull = 5,
    Slow = 6,
}

/// <summary>Either direction: the session ends now, for <see cref="Reason"/>; the text is for logs.</summary>
public readonly record struct GoodbyeMessage(GoodbyeReason Reason, string Text) : IControlMessage<GoodbyeMessage>
{
    public const int ReasonOffset = 0;
    public const int TextLengthOffset = 1;
    public const int TextOffset = 2;

    public static ControlMessageType Type => ControlMessageType.Goodbye;

    public int BodyLength => TextOffset + ControlText.ByteCount(Text);

    public void WriteBody(Span<byte> body)
    {
        body[ReasonOffset] = (byte)Reason;
        body[TextLengthOffset] = (byte)ControlText.Write(body.Slice(TextOffset), Text);
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out GoodbyeMessage message)
    {
        message = default;
        if (body.Length < TextOffset || !ControlText.TryRead(body.Slice(TextLengthOffset), out string text)) return false;
        message = new GoodbyeMessage((GoodbyeReason)body[ReasonOffset], text);
        return true;
    }
}

/// <summary>Either direction: what was wrong with the other side's last frame; the sender closes after it.</summary>
public readonly record struct ErrorMessage(ControlErrorCode Code, string Text) : IControlMessage<ErrorMessage>
{
    public const int CodeOffset = 0;
    public const int TextLengthOffset = 2;
    public const int TextOffset = 3;

    public static ControlMessageType Type => ControlMessageType.Error;

    public int BodyLength => TextOffset + ControlText.ByteCount(Text);

    public void WriteBody(Span<byte> body)
    {
        BinaryPrimitives.WriteUInt16BigEndian(body.Slice(CodeOffset), (ushort)Code);
        body[TextLengthOffset] = (byte)ControlText.Write(body.Slice(TextOffset), Text);
    }

    public static bool TryParseBody(ReadOnlySpan<byte> body, out ErrorMessage message)
    {
        message = default;
        if (body.Length < TextOffset || !ControlText.TryRead(body.Slice(TextLengthOffset), out string text)) return false;
        message = new ErrorMessage((ControlErrorCode)BinaryPrimitives.ReadUInt16BigEndian(body.Slice(CodeOffset)), text);
        return true;
    }
}

/// <summary>Short UTF-8 text behind a one-byte length; longer text is cut at a character boundary.</summary>
internal static class ControlText
{
    public const int LengthOffset = 0;
    public const int TextOffset = 1;
    public const int MaxBytes = 255;

    public static int ByteCount(string? text) => Encoding.UTF8.GetByteCount(Cut(text ?? ""));

    public static int Write(Span<byte> destination, string? text) => Encoding.UTF8.GetBytes(Cut(text ?? ""), destination);

    /// <summary>Reads length (u8) | UTF-8 text filling the rest exactly.</summary>
    public static bool TryRead(ReadOnlySpan<byte> lengthAndText, out string text)
    {
        text = "";
        var bytes = lengthAndText.Slice(TextOffset);
        if (bytes.Length != lengthAndText[LengthOffset] || !System.Text.Unicode.Utf8.IsValid(bytes)) return false;
        text = Encoding.UTF8.GetString(bytes);
        return true;
    }

    private static string Cut(string text)
    {
        if (Encoding.UTF8.GetByteCount(text) <= MaxBytes) return text;
        int n = text.Length;
        while (Encoding.UTF8.GetByteCount(text.AsSpan(0, n)) > MaxBytes) n--;
        if (n > 0 && char.IsHighSurrogate(text[n - 1])) n--;
        return text[..n];
    }
}
